"""State validator: the CRM changes the agent made in a turn against the gold calls' changes.

Both sides are change logs (``crm_env.tools.Change``) of one turn, taken on the same pre-turn state.
Each log is first reduced to its *net effect* per record (first ``before``, last ``after``; a record
created and deleted in the same turn, or updated back to its old value, vanishes), so an agent that
corrects its own mistake within the turn is judged on the result. Then:

- updates and deletes are matched by (record type, id): existing records have the same ids on both sides;
- created records are matched by content, ignoring their generated id and creation stamp; a value that
  refers to a record created in the same turn (e.g. a new quote's ``opportunity_id``) is compared as
  "a new <type>" rather than by id;
- anything the agent changed that the gold calls did not is collateral damage and fails the turn.

``match_created`` exposes the pairing of created records, so cross-turn references can follow the
record the check matched (``crm_env.envs.binding``).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

from crm_env.backends.base import Record
from crm_env.rewards.component import Component, failed, passed
from crm_env.schema.enums import Entity
from crm_env.schema.facts import ENTITIES
from crm_env.tools import Change

NAME = "state"
_IGNORED_ON_CREATE = {e: {f.id_field, f.created_field} - {None} for e, f in ENTITIES.items()}

NetChanges = dict[tuple[Entity, str], tuple[Record | None, Record | None]]


def net_changes(changes: Sequence[Change]) -> NetChanges:
    """Per record: its state before the first change and after the last; no-op records dropped."""
    net: dict[tuple[Entity, str], list[Record | None]] = {}
    for change in changes:
        key = (change.entity, change.record_id)
        if key in net:
            net[key][1] = change.after
        else:
            net[key] = [change.before, change.after]
    return {key: (before, after) for key, (before, after) in net.items() if before != after}


def _canonical(entity: Entity, record: Record | None, new_ids: dict[str, Entity], created: bool) -> Record | None:
    if record is None:
        return None
    ignored = _IGNORED_ON_CREATE[entity] if created else ()
    return {
        k: (f"<new {new_ids[v]}>" if isinstance(v, str) and v in new_ids else v)
        for k, v in record.items()
        if k not in ignored
    }


Created = list[tuple[Entity, str, Record]]  # (type, id, canonical content) of each created record


def _split(net: NetChanges) -> tuple[dict[tuple[Entity, str], Record | None], Created]:
    new_ids = {rid: entity for (entity, rid), (before, _) in net.items() if before is None}
    keyed: dict[tuple[Entity, str], Record | None] = {}
    created: Created = []
    for (entity, rid), (before, after) in net.items():
        if before is None:
            created.append((entity, rid, _canonical(entity, after, new_ids, True)))  # type: ignore[arg-type]
        else:
            keyed[(entity, rid)] = _canonical(entity, after, new_ids, False)
    return keyed, created


def _pair_created(gold: Created, actual: Created) -> tuple[list[tuple[int, int]], list[tuple[int, int]], list[int], list[int]]:
    """Pair created records: first by equal content (in log order, first fit), then each unpaired gold
    record with the first unpaired actual record of its type ("near": the same create with other
    values). Returns (same, near, gold indexes left unpaired, actual indexes left unpaired)."""
    unmatched = list(range(len(actual)))
    same: list[tuple[int, int]] = []
    unmatched_gold: list[int] = []
    for g, (entity, _, record) in enumerate(gold):
        hit = next((k for k, a in enumerate(unmatched) if actual[a][0] == entity and actual[a][2] == record), None)
        if hit is None:
            unmatched_gold.append(g)
        else:
            same.append((g, unmatched.pop(hit)))
    near: list[tuple[int, int]] = []
    missing: list[int] = []
    for g in unmatched_gold:
        hit = next((k for k, a in enumerate(unmatched) if actual[a][0] == gold[g][0]), None)
        if hit is None:
            missing.append(g)
        else:
            near.append((g, unmatched.pop(hit)))
    return same, near, missing, unmatched


def match_created(actual_net: NetChanges, expected_net: NetChanges) -> dict[tuple[Entity, str], tuple[str, bool]]:
    """The agent's created record the state check pairs with each record the gold calls created.

    Pairing is the one ``validate_state`` judges by: equal content (ignoring generated ids and creation
    stamps), else the first other new record of the same type (which the state check reports as wrong
    values).

    Args:
        actual_net: ``net_changes`` of the agent's turn.
        expected_net: ``net_changes`` of the gold calls' turn.

    Returns:
        Per gold-created (type, id): (the agent's record id, whether the contents are equal). Gold
        records the agent created nothing of the same type for are absent.
    """
    _, gold = _split(expected_net)
    if not gold:
        return {}
    _, actual = _split(actual_net)
    same, near, _, _ = _pair_created(gold, actual)
    out = {gold[g][:2]: (actual[a][1], True) for g, a in same}
    out.update({gold[g][:2]: (actual[a][1], False) for g, a in near})
    return out


def _diff(expected: Record, actual: Record) -> dict[str, Any]:
    return {k: {"expected": expected.get(k), "actual": actual.get(k)} for k in expected if expected.get(k) != actual.get(k)}


def _describe(entity: Entity, rid: str | None, after: Record | None) -> str:
    if rid is None:
        return f"create {entity}"
    return f"{'delete' if after is None else 'update'} {entity} {rid}"


def validate_state(actual: Sequence[Change], expected: Sequence[Change], actual_net: NetChanges | None = None) -> Component:
    """Compare a turn's actual change log with the gold change log (see the module docstring).

    ``actual_net`` is ``net_changes(actual)`` when the caller has it already.
    """
    if actual_net is None:
        actual_net = net_changes(actual)
    if len(actual) == len(expected) and all(map(operator.is_, actual, expected)):
        # The very same changes (the gold outcome taken from the agent's identical calls): both sides
        # reduce to the same net effect, so everything matches.
        count = len(actual_net)
        return passed(NAME, f"{count} record change(s) match the gold calls" if count else "no changes, as expected")
    actual_keyed, actual_created = _split(actual_net)
    gold_keyed, gold_created = _split(net_changes(expected))
    missing: list[str] = []
    collateral: list[str] = []
    wrong: dict[str, Any] = {}
    for key, after in gold_keyed.items():
        if key not in actual_keyed:
            missing.append(_describe(key[0], key[1], after))
        elif actual_keyed[key] != after:
            if after is None or actual_keyed[key] is None:
                wrong[_describe(key[0], key[1], after)] = "deleted instead of updated" if after is not None else "updated instead of deleted"
            else:
                wrong[_describe(key[0], key[1], after)] = _diff(after, actual_keyed[key])  # type: ignore[arg-type]
    collateral += [_describe(e, rid, after) for (e, rid), after in actual_keyed.items() if (e, rid) not in gold_keyed]
    _, near, absent, extra = _pair_created(gold_created, actual_created)
    missing += [f"create {gold_created[g][0]}" for g in absent]
    for g, a in near:
        wrong[f"create {gold_created[g][0]}"] = _diff(gold_created[g][2], actual_created[a][2])
    collateral += [f"create {actual_created[a][0]}" for a in extra]
    expected_count = len(gold_keyed) + len(gold_created)
    if not (missing or collateral or wrong):
        what = f"{expected_count} record change(s) match the gold calls" if expected_count else "no changes, as expected"
        return passed(NAME, what)
    parts = []
    if missing:
        parts.append(f"missing: {'; '.join(missing)}")
    if wrong:
        parts.append(f"wrong values: {'; '.join(wrong)}")
    if collateral:
        parts.append(f"collateral writes: {'; '.join(collateral)}")
    return failed(NAME, " | ".join(parts), missing=missing, wrong=wrong, collateral=collateral)
