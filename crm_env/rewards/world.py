"""What is true in an episode when a turn is scored: every record before and after the turn, how records
relate (parents through foreign keys, children), and the vocabulary a reply may use to name them.

The reply checker (``crm_env.rewards.meaning``) reads claims against this: a value is true when a record
in scope has it (after the turn, or before it for "it was 30 %").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any

from crm_env.rewards.claims import Vocabulary
from crm_env.schema.enums import (
    ClientStatus,
    CompanyType,
    ContractStatus,
    Entity,
    OpportunityStage,
    QuoteStatus,
)
from crm_env.schema.facts import ENTITIES
from crm_env.tools import Change

Record = Mapping[str, Any]
# Record-type words ("Client", "Opportunity") are nouns in replies, not claims: DocumentEntityType is left out.
ENUMS: tuple[type, ...] = (OpportunityStage, QuoteStatus, ClientStatus, ContractStatus, CompanyType)
ENUM_OF_VALUE: dict[str, type] = {m.value: e for e in ENUMS for m in e}  # "Negotiation" -> OpportunityStage
_ID_FIELDS = {facts.id_field: entity for entity, facts in ENTITIES.items()}
_PEOPLE_FIELDS = ("owner", "uploaded_by", "created_by")
_TEXT_VALUE_FIELDS = ("industry", "title", "address", "quote_prefix")
DATE_FIELDS = ("close_date", "valid_until", "start_date", "end_date", "created_date", "uploaded_at", "created_at")
NUMBER_FIELDS = ("amount", "value", "probability")


def loose(text: str) -> str:
    """The form names are compared in: lower case, ``-`` / ``_`` as spaces, whitespace collapsed."""
    return " ".join(text.lower().replace("-", " ").replace("_", " ").split())


def display_name(entity: Entity, record: Record) -> str | None:
    """The name a reply would call a record by (None for records without one: quotes, contracts)."""
    if entity is Entity.CONTACT:
        first, last = record.get("first_name"), record.get("last_name")
        return f"{first} {last}" if first and last else None
    if entity is Entity.DOCUMENT:
        return record.get("file_name")
    if entity in (Entity.CLIENT, Entity.OPPORTUNITY, Entity.COMPANY):
        return record.get("name")
    return None


def primary_id(data: Any) -> tuple[Entity, str] | None:
    """A result dict's own record: its first key is the record's id field (results are built that way)."""
    if isinstance(data, Mapping) and data:
        key = next(iter(data))
        entity = _ID_FIELDS.get(key)
        if entity is not None and isinstance(data[key], str):
            return entity, data[key]
    return None


def mappings(data: Any) -> Iterator[Mapping[str, Any]]:
    """Every mapping anywhere in a tool result (depth first)."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, Mapping):
            yield value
            stack.extend(v for v in value.values() if isinstance(v, Mapping | list))
        elif isinstance(value, list):
            stack.extend(value)


def records_in(data: Any) -> list[tuple[Entity, Record]]:
    """Every record (as a record, never as a foreign key) anywhere in a tool result."""
    return [(own[0], value) for value in mappings(data) if (own := primary_id(value)) is not None]


class World:
    """The episode's records after the turn (``records``) and, for records the turn changed, before it."""

    def __init__(self, records: dict[str, tuple[Entity, Record]], before: dict[str, Record | None]) -> None:
        self.records = records
        self.before = before
        self._children: dict[str, set[str]] | None = None
        self._vocabulary: Vocabulary | None = None

    @classmethod
    def build(cls, initial: Mapping[Entity, Iterable[Record]], episode_changes: Sequence[Change],
              turn_changes: Sequence[Change]) -> World:
        """From the initial records, every change of the episode (this turn's included, last) and this turn's."""
        records: dict[str, tuple[Entity, Record]] = {}
        for entity, rows in initial.items():
            id_field = ENTITIES[entity].id_field
            for row in rows:
                records[row[id_field]] = (entity, row)
        before: dict[str, Record | None] = {}
        for change in turn_changes:
            if change.record_id not in before:
                before[change.record_id] = change.before
        for change in episode_changes:
            if change.after is None:
                records.pop(change.record_id, None)
            else:
                records[change.record_id] = (change.entity, change.after)
        return cls(records, before)

    def add(self, entity: Entity, record: Record) -> str:
        """Add a record that only the reference side holds (a gold-created record the agent never made)."""
        rid = record[ENTITIES[entity].id_field]
        self.records.setdefault(rid, (entity, record))
        self._children = None
        self._vocabulary = None
        return rid

    def get(self, rid: str) -> Record | None:
        found = self.records.get(rid)
        return None if found is None else found[1]

    def entity(self, rid: str) -> Entity | None:
        found = self.records.get(rid)
        return None if found is None else found[0]

    def versions(self, rid: str) -> list[Record]:
        """The record after the turn and, if the turn changed it, before."""
        out = []
        now = self.get(rid)
        if now is not None:
            out.append(now)
        old = self.before.get(rid)
        if old is not None:
            out.append(old)
        return out

    def parents(self, rid: str) -> set[str]:
        record = self.get(rid) or self.before.get(rid)
        if record is None:
            return set()
        found = {v for k, v in record.items() if k.endswith("_id") and isinstance(v, str) and v != rid}
        return {p for p in found if p in self.records}

    def ancestors(self, rid: str) -> set[str]:
        seen: set[str] = set()
        todo = [rid]
        while todo:
            for parent in self.parents(todo.pop()):
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return seen

    def children(self, rid: str) -> set[str]:
        if self._children is None:
            index: dict[str, set[str]] = {}
            for child in self.records:
                for parent in self.parents(child):
                    index.setdefault(parent, set()).add(child)
            self._children = index
        return self._children.get(rid, set())

    def neighbours(self, ids: Iterable[str]) -> set[str]:
        """The records, their ancestors and their children."""
        out: set[str] = set()
        for rid in ids:
            out.add(rid)
            out |= self.ancestors(rid)
            out |= self.children(rid)
        return out

    def by_name(self, entity: Entity, name: str) -> list[str]:
        wanted = loose(name)
        return [rid for rid, (e, r) in self.records.items() if e is entity and loose(display_name(e, r) or "") == wanted]

    def vocabulary(self) -> Vocabulary:
        """The names a reply may use (built once per world: the reply and the request are read with it)."""
        if self._vocabulary is None:
            self._vocabulary = _vocabulary(tuple(sorted(self._forms())))
        return self._vocabulary

    def _forms(self) -> set[tuple[str, str, Any]]:
        forms: set[tuple[str, str, Any]] = set()
        for rid, (entity, record) in self.records.items():
            name = display_name(entity, record)
            if name:
                forms.add((loose(name), "record", rid))
            for field in _PEOPLE_FIELDS:
                if record.get(field):
                    forms.add((loose(record[field]), "person", record[field]))
            for field in _TEXT_VALUE_FIELDS:
                value = record.get(field)
                if isinstance(value, str) and value:
                    forms.add((loose(value), field, value))
            if entity is Entity.NOTE and record.get("content"):
                forms.add((loose(record["content"]), "note", record["content"]))
        for rid, old in self.before.items():
            if old is not None:
                for field in _PEOPLE_FIELDS:
                    if old.get(field):
                        forms.add((loose(old[field]), "person", old[field]))
        return forms


@lru_cache(maxsize=512)
def _vocabulary(forms: tuple[tuple[str, str, Any], ...]) -> Vocabulary:
    table: dict[str, list[tuple[str, Any]]] = {}
    for text, kind, payload in forms:
        table.setdefault(text, []).append((kind, payload))
    for enum in ENUMS:
        for member in enum:
            table.setdefault(loose(member.value), []).append(("enum", member.value))
    return Vocabulary.build(table)
