"""Cross-turn bindings: what ``{{turn_N.field}}`` means in the agent's episode.

A later turn refers to the record turn N was about ("that deal", ``{{turn_2.opportunity_id}}``). The
dataset names it through turn N's gold calls, so the binding is the gold's target, found in the
agent's episode by identity, never by the order of the agent's calls:

- a record the gold calls created: the agent's new record that the state check matched by content
  (``crm_env.rewards.state.match_created``), so a deal created wrongly, deleted and created again binds
  to the one that survived;
- a record that existed before the turn (modified, deleted or only read by the gold calls): the same
  id, since the gold replay's scratch CRM mirrors the agent's, so a no-op write or an extra read the
  agent made first redirects nothing.

Field values are the agent's (its record after the turn), so a later turn states what the agent's CRM
holds. The fields are read off the gold results the way ``bindings_from`` reads them (write results
first, then reads; the first value of a field wins), with every record replaced by its counterpart.

Fallbacks, when the agent did not carry turn N out:

- a gold-created record the agent created with other values: the agent's own new record of that
  type, the one the state check compared it with (the user's "that deal" is the deal the agent made);
- a gold-created record with no new record of its type: its fields stay unbound, and references to
  them are left as written (``resolve(..., missing="keep")``), so the later turn cannot be passed by
  acting on some other record;
- gold calls that produced no result in this episode (they failed, e.g. on an earlier unbound
  reference): the agent's own successful results, writes first.

When the agent made exactly the gold calls (the env's ``exact`` shortcut) the gold results are the
agent's own and are read directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from crm_env.backends.base import Record
from crm_env.datasets.format import bindings_from
from crm_env.rewards.replay import GoldOutcome
from crm_env.rewards.state import match_created, net_changes
from crm_env.sandbox import ToolResult
from crm_env.schema.enums import Entity, ToolKind
from crm_env.schema.facts import ENTITIES
from crm_env.tools import Change, get_spec

# A record is a mapping holding its type's id field and nothing outside that type's fields (a quote
# holds ``opportunity_id`` too, but an opportunity has no ``quote_id``: the test is unambiguous).
_SHAPES = tuple((entity, facts.id_field, frozenset(facts.field_names)) for entity, facts in ENTITIES.items())
_UNBOUND = object()  # shadows a field that must stay unresolved, then is dropped


def result_bindings(results: Iterable[ToolResult]) -> dict[str, Any]:
    """The fields a turn's own results expose to later turns: write results outrank reads.

    Args:
        results: The turn's tool results (failed ones are skipped).
    """
    return bindings_from(_ordered_data(results))


def turn_bindings(
    gold: GoldOutcome, agent_results: Iterable[ToolResult], agent_changes: Sequence[Change], exact: bool
) -> dict[str, Any]:
    """The fields turn N binds for later turns' ``{{turn_N.field}}`` (see the module docstring).

    Args:
        gold: The gold outcome of the turn, on the agent's pre-turn state.
        agent_results: The agent's tool results in the turn (read only in a fallback).
        agent_changes: The agent's change log of the turn.
        exact: Whether ``gold`` was taken from the agent's own identical calls.
    """
    if exact:
        return result_bindings(gold.results)
    data = _ordered_data(gold.results)
    if not data:
        return result_bindings(agent_results)
    agent_net = net_changes(agent_changes)
    gold_net = net_changes(gold.changes)
    created = match_created(agent_net, gold_net)

    def counterpart(key: tuple[Entity, str], record: Record) -> Record:
        gold_change = gold_net.get(key)
        if gold_change is not None and gold_change[0] is None:  # the gold calls created it
            pair = created.get(key)
            if pair is None:
                return dict.fromkeys(record, _UNBOUND)
            return agent_net[(key[0], pair[0])][1]  # type: ignore[return-value]
        agent_change = agent_net.get(key)
        if agent_change is not None:  # the agent changed it: as it left it (deleted: as it last was)
            return agent_change[1] if agent_change[1] is not None else agent_change[0]  # type: ignore[return-value]
        if gold_change is not None:  # the gold changed it, the agent did not: as it was before the turn
            return gold_change[0]  # type: ignore[return-value]
        return record  # read only: the scratch's copy is the agent's record

    fields = bindings_from([_translate(item, counterpart) for item in data])
    return {k: v for k, v in fields.items() if v is not _UNBOUND}


def _ordered_data(results: Iterable[ToolResult]) -> list[Any]:
    ok = [r for r in results if r.ok]
    writes = [r.data for r in ok if get_spec(r.tool).kind is ToolKind.WRITE]
    return writes + [r.data for r in ok if get_spec(r.tool).kind is ToolKind.READ]


def _identity(value: Mapping[str, Any]) -> tuple[Entity, str] | None:
    for entity, id_field, fields in _SHAPES:
        rid = value.get(id_field)
        if isinstance(rid, str) and value.keys() <= fields:
            return entity, rid
    return None


def _translate(value: Any, counterpart: Any) -> Any:
    """``value`` with every record in it replaced by ``counterpart((type, id), record)``."""
    if isinstance(value, Mapping):
        key = _identity(value)
        if key is not None:
            return counterpart(key, value)
        return {k: _translate(v, counterpart) for k, v in value.items()}
    if isinstance(value, list):
        return [_translate(v, counterpart) for v in value]
    return value


__all__ = ["result_bindings", "turn_bindings"]
