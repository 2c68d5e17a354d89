"""The in-memory store: the embedded default and the fastest backend.

Tables are dicts of id → record. Writes replace whole record dicts (never mutate them in place), so an
undo log of the previous dicts is enough to roll back a failed call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType

from crm_env.backends.base import Condition, Page, Record, matches
from crm_env.schema.enums import Entity
from crm_env.schema.facts import ENTITIES

_ID_FIELDS = {entity: facts.id_field for entity, facts in ENTITIES.items()}
_SORT_KEYS = {entity: facts.sort_key for entity, facts in ENTITIES.items()}


def _sort_key(fields: tuple[str, ...]):
    # Nulls sort last, as PostgreSQL does for ascending order. The usual one to three fields are
    # spelled out (the same key tuples, without a generator per record).
    if len(fields) == 1:
        (f1,) = fields
        return lambda r: ((r[f1] is None, r[f1] or ""),)
    if len(fields) == 2:
        f1, f2 = fields
        return lambda r: ((r[f1] is None, r[f1] or ""), (r[f2] is None, r[f2] or ""))
    if len(fields) == 3:
        f1, f2, f3 = fields
        return lambda r: ((r[f1] is None, r[f1] or ""), (r[f2] is None, r[f2] or ""), (r[f3] is None, r[f3] or ""))

    def key(record: Record) -> tuple:
        return tuple((record[f] is None, record[f] or "") for f in fields)

    return key


_KEY_FUNCS = {entity: _sort_key(fields) for entity, fields in _SORT_KEYS.items()}


def _copier(list_fields: tuple[str, ...]):
    # Records cross the store boundary as copies. A shallow dict copy is enough (and fastest) for
    # entities of scalar fields; list fields (Company.contacts) are copied too, or a caller mutating
    # a returned list would edit the stored record (and the Seed it was loaded from).
    if not list_fields:
        return dict

    def copy(record: Record) -> Record:
        out = dict(record)
        for name in list_fields:
            if out.get(name) is not None:
                out[name] = list(out[name])
        return out

    return copy


_LIST_FIELDS = {entity: tuple(f.name for f in facts.fields if f.json_type == "array") for entity, facts in ENTITIES.items()}
_COPY = {entity: _copier(fields) for entity, fields in _LIST_FIELDS.items()}


def _owner(list_fields: tuple[str, ...]):
    # For a dict the store has just built itself (so already a copy): only its list fields, which may
    # still be the caller's, need copying.
    if not list_fields:
        return None

    def own(record: Record) -> Record:
        for name in list_fields:
            if record.get(name) is not None:
                record[name] = list(record[name])
        return record

    return own


_OWN = {entity: _owner(fields) for entity, fields in _LIST_FIELDS.items()}


class _Atomic:
    __slots__ = ("_outer", "_store")

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._outer = False

    def __enter__(self) -> None:
        # A nested scope joins the outer one: the outermost scope decides.
        self._outer = self._store._undo is None
        if self._outer:
            self._store._undo = []

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self._outer:
            return
        undo = self._store._undo
        self._store._undo = None
        if exc_type is not None and undo:
            for table, record_id, previous in reversed(undo):
                if previous is None:
                    table.pop(record_id, None)
                else:
                    table[record_id] = previous


class MemoryStore:
    """Records in Python dicts; one episode at a time per instance."""

    url = "memory"

    def __init__(self) -> None:
        self._tables: dict[Entity, dict[str, Record]] = {entity: {} for entity in Entity}
        self._undo: list[tuple[dict[str, Record], str, Record | None]] | None = None

    def begin_episode(self) -> None:
        for table in self._tables.values():
            table.clear()

    def load(self, records: Mapping[Entity, Sequence[Record]]) -> None:
        for entity, rows in records.items():
            table = self._tables[entity]
            key = _ID_FIELDS[entity]
            copy = _COPY[entity]
            for row in rows:
                table[row[key]] = copy(row)

    def get(self, entity: Entity, record_id: str) -> Record | None:
        record = self._tables[entity].get(record_id)
        return None if record is None else _COPY[entity](record)

    def insert(self, entity: Entity, record: Record) -> None:
        table = self._tables[entity]
        record_id = record[_ID_FIELDS[entity]]
        if self._undo is not None:
            self._undo.append((table, record_id, table.get(record_id)))
        table[record_id] = _COPY[entity](record)

    def update(self, entity: Entity, record_id: str, changes: Record) -> None:
        table = self._tables[entity]
        previous = table[record_id]
        if self._undo is not None:
            self._undo.append((table, record_id, previous))
        record = {**previous, **changes}  # a new dict already
        own = _OWN[entity]
        table[record_id] = record if own is None else own(record)

    def delete(self, entity: Entity, record_id: str) -> None:
        table = self._tables[entity]
        previous = table.pop(record_id)
        if self._undo is not None:
            self._undo.append((table, record_id, previous))

    def find(
        self,
        entity: Entity,
        conditions: Sequence[Condition] = (),
        *,
        limit: int | None = None,
        offset: int = 0,
    ) -> Page:
        rows = self._tables[entity].values()
        if len(conditions) == 1:
            (condition,) = conditions
            rows = [r for r in rows if matches(r, condition)]
        elif conditions:
            rows = [r for r in rows if all(matches(r, c) for c in conditions)]
        ordered = sorted(rows, key=_KEY_FUNCS[entity])
        end = None if limit is None else offset + limit
        copy = _COPY[entity]
        return Page(total=len(ordered), records=[copy(r) for r in ordered[offset:end]])

    def atomic(self) -> _Atomic:
        return _Atomic(self)

    def dump(self) -> dict[Entity, list[Record]]:
        return {
            entity: [_COPY[entity](table[k]) for k in sorted(table)] for entity, table in self._tables.items()
        }

    def close(self) -> None:
        self.begin_episode()
