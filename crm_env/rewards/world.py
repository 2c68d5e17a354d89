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


@lru_cache(maxsize=65_536)  # the same field names and values are compared turn after turn
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

    def __init__(self, records: dict[str, tuple[Entity, Record]], before: dict[str, Record | None],
                 base: _Base | None = None, changed: set[str] | None = None) -> None:
        self.records = records
        self.before = before
        # The records as they were at the start of the episode, shared by every episode of a conversation,
        # and the ids whose record differs from it: the vocabulary is the base's with only those re-read.
        self._base = base
        self._changed = changed if changed is not None else set(records)
        self._children: dict[str, set[str]] | None = None
        self._vocabulary: Vocabulary | None = None

    @classmethod
    def build(cls, initial: Mapping[Entity, Iterable[Record]], episode_changes: Sequence[Change],
              turn_changes: Sequence[Change]) -> World:
        """From the initial records, every change of the episode (this turn's included, last) and this turn's."""
        base = _base(initial)
        records = dict(base.records)
        before: dict[str, Record | None] = {}
        for change in turn_changes:
            if change.record_id not in before:
                before[change.record_id] = change.before
        changed: set[str] = set()
        for change in episode_changes:
            changed.add(change.record_id)
            if change.after is None:
                records.pop(change.record_id, None)
            else:
                records[change.record_id] = (change.entity, change.after)
        return cls(records, before, base, changed)

    def add(self, entity: Entity, record: Record) -> str:
        """Add a record that only the reference side holds (a gold-created record the agent never made)."""
        rid = record[ENTITIES[entity].id_field]
        if rid not in self.records:
            self.records[rid] = (entity, record)
            self._changed.add(rid)
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
        base = self._base
        found = base.links[rid] if base is not None and rid not in self._changed and rid in base.links \
            else links(rid, record)
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
        if rid not in self.records:
            return set()
        if self._children is None:  # the changed records' links; the rest are the base's
            index: dict[str, set[str]] = {}
            for child in self._changed:
                if child in self.records:
                    for parent in links(child, self.records[child][1]):
                        index.setdefault(parent, set()).add(child)
            self._children = index
        base = self._base or _NO_RECORDS
        found = {c for c in base.children.get(rid, ()) if c not in self._changed and c in self.records}
        return found | self._children.get(rid, set())

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
            self._vocabulary = self._read_vocabulary()
        return self._vocabulary

    def _read_vocabulary(self) -> Vocabulary:
        base = self._base or _NO_RECORDS
        delta: dict[tuple[str, str, Any], int] = {}
        for rid in self._changed:
            for form in base.forms_of.get(rid, ()):
                delta[form] = delta.get(form, 0) - 1
            now = self.records.get(rid)
            if now is not None:
                for form in record_forms(*now):
                    delta[form] = delta.get(form, 0) + 1
        extra = {form for old in self.before.values() if old is not None for form in _people_forms(old)}
        texts = {form[0] for form, n in delta.items() if n} | {form[0] for form in extra}
        if not texts:
            return base.vocabulary
        table: dict[str, list[tuple[str, Any]]] = {}
        for text in texts:
            held = {form for form in base.by_text.get(text, ()) if base.counts[form] + delta.get(form, 0) > 0}
            held |= {form for form, n in delta.items() if form[0] == text and n > 0 and form not in base.counts}
            held |= {form for form in extra if form[0] == text}
            table[text] = [(kind, payload) for _, kind, payload in sorted(held)] + list(_ENUM_FORMS.get(text, ()))
        return base.vocabulary.overlay(table)


def links(rid: str, record: Record) -> frozenset[str]:
    """The ids a record refers to (its foreign keys), whether or not those records exist."""
    return frozenset(v for k, v in record.items() if k.endswith("_id") and isinstance(v, str) and v != rid)


def _people_forms(record: Record) -> Iterator[tuple[str, str, Any]]:
    for field in _PEOPLE_FIELDS:
        if record.get(field):
            yield loose(record[field]), "person", record[field]


def record_forms(entity: Entity, record: Record) -> set[tuple[str, str, Any]]:
    """The names a record gives a reply: its own name, its people, text values and, for notes, content."""
    forms = set(_people_forms(record))
    name = display_name(entity, record)
    if name:
        forms.add((loose(name), "record", record[ENTITIES[entity].id_field]))
    for field in _TEXT_VALUE_FIELDS:
        value = record.get(field)
        if isinstance(value, str) and value:
            forms.add((loose(value), field, value))
    if entity is Entity.NOTE and record.get("content"):
        forms.add((loose(record["content"]), "note", record["content"]))
    return forms


_ENUM_FORMS: dict[str, tuple[tuple[str, str], ...]] = {}
for _enum in ENUMS:
    for _member in _enum:
        _ENUM_FORMS[loose(_member.value)] = (*_ENUM_FORMS.get(loose(_member.value), ()), ("enum", _member.value))


class _Base:
    """An episode's initial records read once: their forms (with how many records give each) and the
    vocabulary they make."""

    def __init__(self, initial: Mapping[Entity, Iterable[Record]]) -> None:
        self.initial = initial  # held so that the id it is cached under is not reused
        self.records: dict[str, tuple[Entity, Record]] = {}
        self.forms_of: dict[str, frozenset[tuple[str, str, Any]]] = {}
        self.counts: dict[tuple[str, str, Any], int] = {}
        for entity, rows in initial.items():
            id_field = ENTITIES[entity].id_field
            for row in rows:
                rid = row[id_field]
                self.records[rid] = (entity, row)
        self.links = {rid: links(rid, row) for rid, (_, row) in self.records.items()}
        self.children: dict[str, set[str]] = {}
        for rid, parents in self.links.items():
            for parent in parents:
                self.children.setdefault(parent, set()).add(rid)
        for rid, (entity, row) in self.records.items():
            forms = self.forms_of[rid] = frozenset(record_forms(entity, row))
            for form in forms:
                self.counts[form] = self.counts.get(form, 0) + 1
        self.by_text: dict[str, list[tuple[str, str, Any]]] = {}
        for form in self.counts:
            self.by_text.setdefault(form[0], []).append(form)
        table: dict[str, list[tuple[str, Any]]] = {}
        for text, kind, payload in sorted(self.counts):
            table.setdefault(text, []).append((kind, payload))
        for text, payloads in _ENUM_FORMS.items():
            table.setdefault(text, []).extend(payloads)
        self.vocabulary = Vocabulary.build(table)


_BASES: dict[int, _Base] = {}
_MAX_BASES = 4096  # conversations whose initial records stay read (a dataset's worth)


def _base(initial: Mapping[Entity, Iterable[Record]]) -> _Base:
    if not initial:
        return _NO_RECORDS
    base = _BASES.get(id(initial))
    if base is None or base.initial is not initial:
        if len(_BASES) >= _MAX_BASES:
            _BASES.pop(next(iter(_BASES)))
        base = _BASES[id(initial)] = _Base(initial)
    return base


_NO_RECORDS = _Base({})
