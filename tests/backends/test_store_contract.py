"""The store contract suite: every backend must pass it unchanged.

It talks only to ``open_store(url)`` and the ``Store`` protocol, never to a backend's internals, so a new
backend is covered by adding its URL to the ``backend_url`` fixture. Expected answers are computed with
``crm_env.backends.base.matches``, the reference semantics of a condition.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from crm_env.backends import Condition, Op, Store, open_store
from crm_env.backends.base import matches
from crm_env.schema.enums import Entity
from crm_env.schema.facts import ENTITIES

C1 = "10000000-0000-4000-8000-000000000001"
C2 = "10000000-0000-4000-8000-000000000002"
C3 = "10000000-0000-4000-8000-000000000003"
C4 = "10000000-0000-4000-8000-000000000004"
O1 = "20000000-0000-4000-8000-000000000001"
O2 = "20000000-0000-4000-8000-000000000002"
O3 = "20000000-0000-4000-8000-000000000003"
Q1 = "30000000-0000-4000-8000-000000000001"
Q2 = "30000000-0000-4000-8000-000000000002"
K1 = "40000000-0000-4000-8000-000000000001"
N1 = "50000000-0000-4000-8000-000000000001"


def rec(entity: Entity, **fields: Any) -> dict[str, Any]:
    """A complete record: every field of the entity present, None where unset (the store's shape)."""
    record = dict.fromkeys(ENTITIES[entity].field_names)
    record.update(fields)
    return record


def clients() -> list[dict[str, Any]]:
    return [
        rec(Entity.CLIENT, client_id=C3, name="Zeta Corp", email="ops@zeta.com", industry="Energy", created_date="2026-01-03T00:00:00Z"),
        rec(Entity.CLIENT, client_id=C1, name="Acme", email="Sales@Acme.com", industry="Retail", status="Active", created_date="2026-01-01T00:00:00Z"),
        rec(Entity.CLIENT, client_id=C2, name="acme labs", industry="STRASSE Works", status="Prospect", created_date="2026-01-02T00:00:00Z"),
        rec(Entity.CLIENT, client_id=C4, name="Beta", created_date="2026-01-04T00:00:00Z"),
    ]


def opportunities() -> list[dict[str, Any]]:
    return [
        rec(Entity.OPPORTUNITY, opportunity_id=O1, name="Deal", client_id=C1, amount=100.0, probability=10, close_date="2026-02-01", stage="Proposal"),
        rec(Entity.OPPORTUNITY, opportunity_id=O2, name="Deal", client_id=C2, amount=2500.5, probability=90, close_date="2026-03-15", stage="Negotiation"),
        rec(Entity.OPPORTUNITY, opportunity_id=O3, name="Another", client_id=C1),
    ]


def world() -> dict[Entity, list[dict[str, Any]]]:
    return {
        Entity.CLIENT: clients(),
        Entity.OPPORTUNITY: opportunities(),
        Entity.QUOTE: [
            rec(Entity.QUOTE, quote_id=Q2, opportunity_id=O1, amount=5.0, created_date="2026-01-02T00:00:00Z"),
            rec(Entity.QUOTE, quote_id=Q1, opportunity_id=O1, status="Sent", created_date="2026-01-05T00:00:00Z"),
        ],
        Entity.COMPANY: [rec(Entity.COMPANY, company_id=K1, name="Globex", type="Vendor", contacts=["Hank", "Ümit"])],
        Entity.NOTE: [rec(Entity.NOTE, note_id=N1, entity_type="Client", entity_id=C1, content="hi", created_at="2026-01-01T00:00:00Z")],
    }


@pytest.fixture
def store(backend_url: str) -> Iterator[Store]:
    s = open_store(backend_url)
    s.begin_episode()
    yield s
    s.close()


@pytest.fixture
def loaded(store: Store) -> Store:
    store.load(world())
    return store


def ids(records: list[dict[str, Any]], entity: Entity = Entity.CLIENT) -> list[str]:
    return [r[ENTITIES[entity].id_field] for r in records]


def test_store_satisfies_the_protocol(store):
    assert isinstance(store, Store)
    assert isinstance(store.url, str)


def test_begin_episode_starts_empty(loaded):
    assert loaded.get(Entity.CLIENT, C1) is not None
    loaded.begin_episode()
    assert all(rows == [] for rows in loaded.dump().values())
    assert loaded.find(Entity.CLIENT).total == 0


def test_load_and_get_round_trip_every_field_type(loaded):
    # Types must survive storage: floats stay floats, whole-number probabilities stay ints, lists stay lists.
    for entity, rows in world().items():
        for row in rows:
            got = loaded.get(entity, row[ENTITIES[entity].id_field])
            assert got == row
            for key, value in row.items():
                assert type(got[key]) is type(value), (entity, key)


def test_get_unknown_id_is_none(loaded):
    assert loaded.get(Entity.CLIENT, "99999999-0000-4000-8000-000000000000") is None
    assert loaded.get(Entity.OPPORTUNITY, C1) is None  # ids are per entity


def test_returned_records_are_copies(loaded):
    loaded.get(Entity.CLIENT, C1)["name"] = "changed"
    loaded.find(Entity.CLIENT).records[0]["name"] = "changed"
    loaded.dump()[Entity.CLIENT][0]["name"] = "changed"
    loaded.get(Entity.COMPANY, K1)["contacts"].append("intruder")
    loaded.dump()[Entity.COMPANY][0]["contacts"].append("intruder")
    assert loaded.get(Entity.CLIENT, C1)["name"] == "Acme"
    assert loaded.get(Entity.COMPANY, K1)["contacts"] == ["Hank", "Ümit"]


def test_inputs_are_copied(store):
    # A caller reusing its dict (or the seed's list) after handing it over must not edit the store.
    company = rec(Entity.COMPANY, company_id=K1, name="Globex", contacts=["Hank"])
    store.insert(Entity.COMPANY, company)
    company["name"] = "changed"
    company["contacts"].append("intruder")
    assert store.get(Entity.COMPANY, K1) == rec(Entity.COMPANY, company_id=K1, name="Globex", contacts=["Hank"])


def test_insert_update_delete(store):
    store.insert(Entity.CLIENT, rec(Entity.CLIENT, client_id=C1, name="Acme", industry="Retail"))
    store.update(Entity.CLIENT, C1, {"name": "Acme Inc", "email": "a@acme.com"})
    assert store.get(Entity.CLIENT, C1) == rec(Entity.CLIENT, client_id=C1, name="Acme Inc", industry="Retail", email="a@acme.com")
    store.update(Entity.CLIENT, C1, {"industry": None})  # setting a field back to null
    assert store.get(Entity.CLIENT, C1)["industry"] is None
    store.delete(Entity.CLIENT, C1)
    assert store.get(Entity.CLIENT, C1) is None
    assert store.find(Entity.CLIENT).total == 0


CONDITION_CASES = [
    (Entity.CLIENT, [Condition("status", Op.EQ, "Active")]),
    (Entity.CLIENT, [Condition("status", Op.EQ, "active")]),  # EQ is case-sensitive
    (Entity.CLIENT, [Condition("email", Op.IEQ, "SALES@acme.COM")]),
    (Entity.CLIENT, [Condition("name", Op.CONTAINS, "ACME")]),
    (Entity.CLIENT, [Condition("industry", Op.CONTAINS, "straße")]),  # casefold, not lower(): ß ~ SS
    (Entity.CLIENT, [Condition("name", Op.CONTAINS, "%")]),  # LIKE wildcards are literal text
    (Entity.CLIENT, [Condition("name", Op.CONTAINS, "_")]),
    (Entity.CLIENT, [Condition("name", Op.CONTAINS, "acme"), Condition("status", Op.EQ, "Prospect")]),
    (Entity.CLIENT, [Condition("client_id", Op.IN, [C1, C4, "nope"])]),
    (Entity.CLIENT, [Condition("status", Op.IN, ["Active", "Prospect"])]),
    (Entity.CLIENT, [Condition("created_date", Op.GE, "2026-01-02T00:00:00Z")]),
    (Entity.OPPORTUNITY, [Condition("amount", Op.GE, 100.0)]),
    (Entity.OPPORTUNITY, [Condition("amount", Op.LE, 2500.5)]),
    (Entity.OPPORTUNITY, [Condition("amount", Op.GE, 101), Condition("amount", Op.LE, 2500.5)]),
    (Entity.OPPORTUNITY, [Condition("probability", Op.LE, 10)]),
    (Entity.OPPORTUNITY, [Condition("close_date", Op.GE, "2026-02-01"), Condition("close_date", Op.LE, "2026-03-01")]),
    (Entity.OPPORTUNITY, [Condition("client_id", Op.EQ, C1)]),
    (Entity.NOTE, [Condition("entity_type", Op.EQ, "Client"), Condition("entity_id", Op.EQ, C1)]),
]


@pytest.mark.parametrize(("entity", "conditions"), CONDITION_CASES, ids=lambda v: repr(v)[:60])
def test_find_agrees_with_the_reference_semantics(loaded, entity, conditions):
    everything = loaded.dump()[entity]
    expected = {r[ENTITIES[entity].id_field] for r in everything if all(matches(r, c) for c in conditions)}
    page = loaded.find(entity, conditions)
    assert set(ids(page.records, entity)) == expected
    assert page.total == len(expected)


def test_reference_semantics_pin_the_tricky_cases(loaded):
    # Pins the expectations above so the cross-check cannot pass vacuously.
    def found(*conditions):
        return set(ids(loaded.find(Entity.CLIENT, list(conditions)).records))

    assert found(Condition("email", Op.IEQ, "SALES@acme.COM")) == {C1}
    assert found(Condition("name", Op.CONTAINS, "ACME")) == {C1, C2}
    assert found(Condition("industry", Op.CONTAINS, "straße")) == {C2}
    assert found(Condition("status", Op.EQ, "active")) == set()
    assert found(Condition("name", Op.CONTAINS, "%")) == set()
    # Nulls never satisfy a comparison: C3 and C4 have no status.
    assert found(Condition("status", Op.EQ, "Active")) | found(Condition("status", Op.EQ, "Prospect")) == {C1, C2}
    amounts = {r["opportunity_id"] for r in loaded.find(Entity.OPPORTUNITY, [Condition("amount", Op.GE, 0.0)]).records}
    assert amounts == {O1, O2}  # O3 has no amount


def test_find_orders_by_the_entity_sort_key(loaded):
    # Clients by name with code-point comparison ("Zeta" < "acme"), then id; opportunities tie on name
    # and fall back to id; quotes by created_date.
    assert ids(loaded.find(Entity.CLIENT).records) == [C1, C4, C3, C2]
    assert ids(loaded.find(Entity.OPPORTUNITY).records, Entity.OPPORTUNITY) == [O3, O1, O2]
    assert ids(loaded.find(Entity.QUOTE).records, Entity.QUOTE) == [Q2, Q1]


def test_nulls_sort_last(store):
    a = rec(Entity.CONTACT, contact_id="60000000-0000-4000-8000-000000000001", first_name="Zed", last_name="Adams", client_id=C1)
    b = rec(Entity.CONTACT, contact_id="60000000-0000-4000-8000-000000000002", first_name="Amy", last_name="Adams", client_id=C1)
    store.load({Entity.CLIENT: [rec(Entity.CLIENT, client_id=C1, name="A")], Entity.CONTACT: [a, b]})
    # Quotes without a creation stamp (possible in a contract-level insert) come after stamped ones.
    store.load(
        {
            Entity.OPPORTUNITY: [rec(Entity.OPPORTUNITY, opportunity_id=O1, name="D", client_id=C1)],
            Entity.QUOTE: [
                rec(Entity.QUOTE, quote_id=Q1, opportunity_id=O1),
                rec(Entity.QUOTE, quote_id=Q2, opportunity_id=O1, created_date="2026-01-01T00:00:00Z"),
            ],
        }
    )
    assert ids(store.find(Entity.CONTACT).records, Entity.CONTACT) == [b["contact_id"], a["contact_id"]]
    assert ids(store.find(Entity.QUOTE).records, Entity.QUOTE) == [Q2, Q1]


def test_paging(loaded):
    full = ids(loaded.find(Entity.CLIENT).records)
    pages = [loaded.find(Entity.CLIENT, limit=3, offset=o) for o in (0, 3)]
    assert [p.total for p in pages] == [4, 4]
    assert ids(pages[0].records) + ids(pages[1].records) == full
    beyond = loaded.find(Entity.CLIENT, limit=2, offset=10)
    assert (beyond.total, beyond.records) == (4, [])
    filtered = loaded.find(Entity.CLIENT, [Condition("name", Op.CONTAINS, "a")], limit=1, offset=1)
    assert filtered.total == 4 and len(filtered.records) == 1  # total counts every match, not the page
    assert loaded.find(Entity.CLIENT, limit=0).records == []


def test_dump_lists_every_entity_sorted_by_id(loaded):
    dump = loaded.dump()
    assert set(dump) == set(Entity)
    assert ids(dump[Entity.CLIENT]) == sorted([C1, C2, C3, C4])
    assert ids(dump[Entity.QUOTE], Entity.QUOTE) == [Q1, Q2]
    assert dump[Entity.CONTRACT] == []


def test_atomic_rolls_back_every_write_of_a_failed_scope(loaded):
    before = loaded.dump()
    with pytest.raises(RuntimeError):
        with loaded.atomic():
            loaded.insert(Entity.CLIENT, rec(Entity.CLIENT, client_id="10000000-0000-4000-8000-000000000009", name="New"))
            loaded.update(Entity.CLIENT, C1, {"name": "Changed"})
            loaded.update(Entity.CLIENT, C1, {"status": "Inactive"})  # two writes to one record
            loaded.delete(Entity.QUOTE, Q1)
            loaded.delete(Entity.NOTE, N1)
            raise RuntimeError("boom")
    assert loaded.dump() == before


def test_atomic_keeps_earlier_and_successful_writes(loaded):
    loaded.update(Entity.CLIENT, C1, {"name": "Outside"})  # before any scope
    with loaded.atomic():
        loaded.update(Entity.CLIENT, C2, {"name": "Committed"})
    with pytest.raises(ValueError), loaded.atomic():
        loaded.update(Entity.CLIENT, C3, {"name": "Undone"})
        raise ValueError
    assert [loaded.get(Entity.CLIENT, c)["name"] for c in (C1, C2, C3)] == ["Outside", "Committed", "Zeta Corp"]
    # The store is still usable after a rollback.
    with loaded.atomic():
        loaded.delete(Entity.CLIENT, C4)
    assert loaded.get(Entity.CLIENT, C4) is None


def test_nested_atomic_scopes_join_the_outermost(loaded):
    # Backends agree that a nested scope joins the outer one: the outermost scope decides, so a
    # failing outer scope also undoes what an inner scope wrote.
    before = loaded.dump()
    with pytest.raises(RuntimeError), loaded.atomic():
        loaded.update(Entity.CLIENT, C1, {"name": "Outer"})
        with loaded.atomic():
            loaded.update(Entity.CLIENT, C2, {"name": "Inner"})
        raise RuntimeError
    assert loaded.dump() == before


def test_begin_episode_discards_the_previous_episode(loaded):
    loaded.insert(Entity.CLIENT, rec(Entity.CLIENT, client_id="10000000-0000-4000-8000-000000000009", name="New"))
    loaded.begin_episode()
    loaded.load({Entity.CLIENT: [rec(Entity.CLIENT, client_id=C1, name="Fresh")]})
    assert ids(loaded.dump()[Entity.CLIENT]) == [C1]
    assert loaded.get(Entity.CLIENT, C1)["name"] == "Fresh"


def test_two_stores_on_one_url_are_isolated(backend_url, loaded):
    # Parallel episodes on the same backend must never see each other's records.
    other = open_store(backend_url)
    try:
        other.begin_episode()
        assert other.get(Entity.CLIENT, C1) is None
        other.load({Entity.CLIENT: [rec(Entity.CLIENT, client_id=C1, name="Other episode")]})
        assert loaded.get(Entity.CLIENT, C1)["name"] == "Acme"
        other.update(Entity.CLIENT, C1, {"name": "Still other"})
        assert loaded.get(Entity.CLIENT, C1)["name"] == "Acme"
        assert other.find(Entity.CLIENT).total == 1
    finally:
        other.close()
    assert loaded.find(Entity.CLIENT).total == 4


def test_close_is_idempotent(backend_url):
    s = open_store(backend_url)
    s.begin_episode()
    s.close()
    s.close()
