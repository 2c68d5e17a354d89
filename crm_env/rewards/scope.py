"""The scope of a turn's reply check: the episode's world, the records the turn is about and, for read
requests, the answer set; built from what the env hands the ensemble.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crm_env.rewards.lexicon import ENTITY_NOUNS
from crm_env.rewards.replay import GoldOutcome
from crm_env.rewards.scope_model import TurnScope
from crm_env.rewards.world import ENUM_OF_VALUE, World, display_name, loose, primary_id, records_in
from crm_env.schema.enums import Entity
from crm_env.tools import Change


@dataclass(frozen=True, slots=True)
class Episode:
    """What the ensemble needs of the episode beyond the turn: its initial records, every change made so
    far (this turn's last) and the clock's date."""

    initial: Mapping[Entity, Sequence[Mapping[str, Any]]]
    changes: Sequence[Change]
    today: str


def build_scope(
    episode: Episode,
    gold: GoldOutcome,
    results: Iterable[Any],
    turn_changes: Sequence[Change],
    facts: Sequence[tuple[str, Any]],
    utterance: str,
    expect_success: bool,
    is_write: bool,
    work_done: bool,
) -> TurnScope:
    """The reply check's scope for one turn (``results``: the agent's ``ToolResult`` of this turn)."""
    world = World.build(episode.initial, episode.changes, turn_changes)
    targets: set[str] = set()
    created = [c for c in turn_changes if c.before is None and c.after is not None]
    for change in gold.changes:
        if change.before is None and change.after is not None:
            targets.add(_created_match(world, change, created))
        else:
            targets.add(change.record_id)
            if change.record_id not in world.records and change.before is not None:
                world.add(change.entity, change.before)
    answer: set[str] | None = None
    answer_entity: Entity | None = None
    prefixes: dict[str, int] | None = None
    listing = False
    if expect_success and not is_write:
        answer = set()
        for result in gold.results:
            if not result.ok:
                continue
            if isinstance(result.data, Mapping) and isinstance(result.data.get("prefixes"), list):
                prefixes = {p["quote_prefix"]: p["count"] for p in result.data["prefixes"]}
            entity = _tool_entity(result.tool)
            listing = listing or (isinstance(result.data, Mapping) and isinstance(result.data.get("results"), list))
            for record_entity, record in _answer_records(result.data):
                rid = world.add(record_entity, record)
                answer.add(rid)
                answer_entity = answer_entity or record_entity
            answer_entity = answer_entity or entity
        targets |= answer
    numbers: set[float] = set()
    dates: set[str] = set()
    keys: set[str] = set()
    scanned: set[int] = set()
    for result in (*gold.results, *results):
        if id(result) in scanned:
            continue  # the agent made the gold calls: its results are the gold's
        scanned.add(id(result))
        if result.ok:
            _scalars(result.data, numbers, dates, keys)
        else:
            _scalars(result.error or "", numbers, dates)
    named = {v for _, arguments in gold.calls for k, v in arguments.items()
             if k.endswith("_id") and isinstance(v, str) and v in world.records}
    filters = frozenset(v for _, arguments in gold.calls for v in arguments.values()
                        if isinstance(v, str) and v in ENUM_OF_VALUE) if answer is not None else frozenset()
    if answer is not None and not answer and answer_entity is not None:
        # an empty answer: what the reply says about other records of that type is context ("the quotes
        # on file are all Draft or Sent"); it is read against every record of the type
        targets |= {rid for rid, (e, _) in world.records.items() if e is answer_entity}
        answer = set()
    return TurnScope(world, targets, answer, answer_entity, facts, utterance, episode.today, (numbers, dates),
                     expect_success, work_done, prefixes, named, listing, frozenset(keys), filters)


def _created_match(world: World, gold: Change, created: Sequence[Change]) -> str:
    """The agent's record that the gold's created record is (same type, same name or same content)."""
    name = display_name(gold.entity, gold.after or {})
    same = [c for c in created if c.entity is gold.entity]
    for change in same:
        if name is not None and display_name(change.entity, change.after or {}) == name:
            return change.record_id
    for change in same:
        after = change.after or {}
        if all(after.get(k) == v for k, v in (gold.after or {}).items() if not k.endswith("_id") and k not in
               ("created_date", "uploaded_at", "created_at")):
            return change.record_id
    return world.add(gold.entity, gold.after or {})


def _answer_records(data: Any) -> list[tuple[Entity, Mapping[str, Any]]]:
    if isinstance(data, Mapping) and isinstance(data.get("results"), list):
        found = []
        for item in data["results"]:
            own = primary_id(item)
            if own is not None:
                found.append((own[0], item))
        return found
    return records_in(data)


def _tool_entity(tool: str) -> Entity | None:
    head = tool.split("_")[0]
    return ENTITY_NOUNS.get(head) or ENTITY_NOUNS.get(head + "s")


def _scalars(data: Any, numbers: set[float], dates: set[str], keys: set[str] | None = None) -> None:
    """Numbers and dates anywhere in a result; ``keys``: the loose form of every key (a summary's
    ``by_stage`` names stages that no single record in scope needs to hold)."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, Mapping):
            stack.extend(value.values())
            if keys is not None:
                keys.update(loose(k) for k in value if isinstance(k, str))
        elif isinstance(value, list | tuple):
            stack.extend(value)
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int | float):
            numbers.add(float(value))
        elif isinstance(value, str):
            if len(value) >= 10 and value[4:5] == "-" and value[:4].isdigit():
                dates.add(value[:10])
            else:
                _text_scalars(value, numbers, dates)


_DIGIT = re.compile(r"\d")


def _text_scalars(text: str, numbers: set[float], dates: set[str]) -> None:
    if _DIGIT.search(text) is None:
        return
    for match in re.finditer(r"\d{4}-\d{2}-\d{2}", text):
        dates.add(match.group())
    for match in re.finditer(r"(?<![\w-])\d[\d,]*(?:\.\d+)?", text):
        try:
            numbers.add(float(match.group().replace(",", "")))
        except ValueError:
            continue
