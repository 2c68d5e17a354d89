"""The episode's world (``crm_env.rewards.world``): its vocabulary is the initial records' with only the
changed records re-read, which must equal the vocabulary built from every record; and the request reader's
cache (``claims.read_request``) must give what reading it afresh gives, episode ids included."""

from __future__ import annotations

import random

import pytest

from crm_env.rewards.claims import Vocabulary, read_reply, read_request
from crm_env.rewards.world import ENUMS, World, loose, record_forms
from crm_env.schema.enums import Entity
from crm_env.tools import Change
from crm_env.tools.context import ChangeOp

INITIAL = {
    Entity.CLIENT: [
        {"client_id": "c-1", "name": "Acme Corp", "owner": "Dana Reyes", "industry": "Retail"},
        {"client_id": "c-2", "name": "Birch Labs", "owner": "Dana Reyes", "industry": "Retail"},
    ],
    Entity.OPPORTUNITY: [
        {"opportunity_id": "o-1", "client_id": "c-1", "name": "Acme Expansion Phase 2", "owner": "Lee Park"},
        {"opportunity_id": "o-2", "client_id": "c-2", "name": "Birch Renewal", "owner": "Dana Reyes"},
    ],
}


def _fresh(world: World) -> Vocabulary:
    """The vocabulary built from scratch: every record's forms, the people the turn's records had before,
    and the enum values."""
    forms = set()
    for entity, record in world.records.values():
        forms |= record_forms(entity, record)
    for old in world.before.values():
        if old is not None:
            forms |= {(loose(old[f]), "person", old[f]) for f in ("owner", "uploaded_by", "created_by") if old.get(f)}
    table: dict[str, list] = {}
    for text, kind, payload in sorted(forms):
        table.setdefault(text, []).append((kind, payload))
    for enum in ENUMS:
        for member in enum:
            table.setdefault(loose(member.value), []).append(("enum", member.value))
    return Vocabulary.build(table)


def _same(a: Vocabulary, b: Vocabulary) -> None:
    assert a.forms == b.forms
    assert {k: v for k, v in a.index.items() if v} == {k: v for k, v in b.index.items() if v}


def test_unchanged_world_uses_the_initial_vocabulary() -> None:
    world = World.build(INITIAL, [], [])
    _same(world.vocabulary(), _fresh(world))
    assert World.build(INITIAL, [], []).vocabulary() is world.vocabulary()  # read once per conversation


def test_renames_deletes_and_creates_change_only_what_they_touch() -> None:
    renamed = {**INITIAL[Entity.CLIENT][0], "name": "Acme Holdings", "owner": "Lee Park"}
    created = {"opportunity_id": "o-9", "client_id": "c-2", "name": "Birch Pilot", "owner": "Sam Ortiz"}
    changes = [
        Change(ChangeOp.UPDATE, Entity.CLIENT, "c-1", INITIAL[Entity.CLIENT][0], renamed),
        Change(ChangeOp.DELETE, Entity.OPPORTUNITY, "o-2", INITIAL[Entity.OPPORTUNITY][1], None),
        Change(ChangeOp.CREATE, Entity.OPPORTUNITY, "o-9", None, created),
    ]
    world = World.build(INITIAL, changes, changes[:1])
    vocabulary = world.vocabulary()
    _same(vocabulary, _fresh(world))
    assert "acme corp" not in vocabulary.forms and vocabulary.forms["acme holdings"] == (("record", "c-1"),)
    assert "birch renewal" not in vocabulary.forms and vocabulary.forms["birch pilot"] == (("record", "o-9"),)
    # Dana Reyes still owns Birch Labs, and owned Acme Corp before the turn: a person either way
    assert vocabulary.forms["dana reyes"] == (("person", "Dana Reyes"),)
    assert [form for _, _, form in vocabulary.find("moved from dana reyes to sam ortiz")] == ["dana reyes", "sam ortiz"]


def test_random_changes_match_the_vocabulary_built_from_scratch() -> None:
    rng = random.Random(7)
    names = ["Acme Corp", "Birch Labs", "Cedar Group", "Acme", "Birch Labs West", "Acme Corp Renewal"]
    people = ["Dana Reyes", "Lee Park", "Sam Ortiz"]
    for _ in range(200):
        records = {rid: (e, r) for e, rows in INITIAL.items() for r in rows
                   for rid in [r[next(iter(r))]]}
        changes = []
        for step in range(rng.randint(1, 6)):
            rid = rng.choice([*records, f"new-{step}"])
            entity, old = records.get(rid, (Entity.CLIENT, None))
            if old is not None and rng.random() < 0.3:
                changes.append(Change(ChangeOp.DELETE, entity, rid, old, None))
                del records[rid]
                continue
            id_field = "client_id" if entity is Entity.CLIENT else "opportunity_id"
            new = {**(old or {}), id_field: rid, "name": rng.choice(names), "owner": rng.choice(people)}
            changes.append(Change(ChangeOp.UPDATE if old else ChangeOp.CREATE, entity, rid, old, new))
            records[rid] = (entity, new)
        world = World.build(INITIAL, changes, changes[-2:])
        if rng.random() < 0.3:
            world.add(Entity.CLIENT, {"client_id": "gold-1", "name": rng.choice(names), "owner": "Ana Cruz"})
        _same(world.vocabulary(), _fresh(world))


@pytest.mark.parametrize("text", [
    "Move the Acme Expansion Phase 2 deal to Negotiation, not Proposal.",
    "Email dana@acme.example about c-1 and the quote for Birch Renewal (2 quotes, $1.2M).",
    "",
])
def test_cached_request_reading_equals_a_fresh_one_with_this_episodes_ids(text: str) -> None:
    first = World.build(INITIAL, [], []).vocabulary()
    assert read_request(text, first) == read_reply(text, first)
    # the next episode created the deal under another id: the cached reading must carry the new id
    for rid in ("o-100", "o-200"):
        created = {"opportunity_id": rid, "client_id": "c-1", "name": "Birch Renewal", "owner": "Lee Park"}
        change = Change(ChangeOp.CREATE, Entity.OPPORTUNITY, rid, None, created)
        gone = Change(ChangeOp.DELETE, Entity.OPPORTUNITY, "o-2", INITIAL[Entity.OPPORTUNITY][1], None)
        vocabulary = World.build(INITIAL, [gone, change], [change]).vocabulary()
        assert read_request(text, vocabulary) == read_reply(text, vocabulary)
        if "Birch Renewal" in text:
            assert ("record", rid) in [(m.kind, m.value) for m in read_request(text, vocabulary).mentions]
