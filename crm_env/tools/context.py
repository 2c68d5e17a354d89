"""The domain context a tool runs in: store, clock, id source and the change log.

Every write goes through ``create`` / ``update`` / ``delete`` here, so every backend sees the same
operations and every change is logged once, in one shape, for the reward code to read.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from crm_env.backends.base import Condition, Record, Store
from crm_env.errors import NotFoundError
from crm_env.schema.clock import Clock
from crm_env.schema.enums import Entity
from crm_env.schema.facts import ENTITIES

DEFAULT_PAGE_SIZE = 20
# uuid.UUID(version=4) sets the variant bits to 10 (RFC 4122) and the version nibble to 4.
_UUID4_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_UUID4_SET = (0x8000 << 48) | (4 << 76)

_BLANK = {entity: dict.fromkeys(facts.field_names) for entity, facts in ENTITIES.items()}
_ID_FIELDS = {entity: facts.id_field for entity, facts in ENTITIES.items()}
_SEARCH_TOOLS = {
    Entity.CLIENT: "client_search",
    Entity.CONTACT: "contact_search",
    Entity.OPPORTUNITY: "opportunity_search",
    Entity.QUOTE: "quote_search",
    Entity.CONTRACT: "contract_search",
    Entity.COMPANY: "company_search",
    Entity.DOCUMENT: "document_search",
    Entity.NOTE: "note_search",
}


class ChangeOp(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Change:
    """One record written by a tool call: what it was before and after."""

    op: ChangeOp
    entity: Entity
    record_id: str
    before: Record | None
    after: Record | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "op": self.op.value,
            "entity": self.entity.value,
            "record_id": self.record_id,
            "before": self.before,
            "after": self.after,
        }


class Context:
    """What a tool function receives as its first argument."""

    __slots__ = ("_rng", "_stamp", "_stamp_clock", "changes", "clock", "store")

    def __init__(self, store: Store, clock: Clock, seed: int = 0) -> None:
        self.store = store
        self.clock = clock
        self.changes: list[Change] = []
        self._rng = random.Random(seed)
        self._stamp_clock: Clock | None = None  # the clock _stamp was taken from
        self._stamp = ""

    def reseed(self, seed: int) -> None:
        self._rng.seed(seed)

    def new_id(self) -> str:
        # Seeded, so replays and parallel backends create the same ids in the same order. The same text
        # as str(uuid.UUID(int=bits, version=4)), without building the UUID object.
        h = "%032x" % ((self._rng.getrandbits(128) & _UUID4_CLEAR) | _UUID4_SET)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def _timestamp(self) -> str:
        """``self.clock.timestamp()``, computed once per clock (a ``Clock`` is frozen)."""
        if self.clock is not self._stamp_clock:
            self._stamp = self.clock.timestamp()
            self._stamp_clock = self.clock
        return self._stamp

    def require(self, entity: Entity, record_id: str, argument: str | None = None) -> Record:
        """The record, or a NotFoundError that says how to find the right id."""
        record = self.store.get(entity, record_id)
        if record is None:
            field = argument or _ID_FIELDS[entity]
            raise NotFoundError(
                f"No {entity.value.lower()} has {field}={record_id!r}; check the id "
                f"(use {_SEARCH_TOOLS[entity]} to find it)."
            )
        return record

    def create(self, entity: Entity, fields: dict[str, Any]) -> Record:
        """Insert a new record with a fresh id and the clock's creation stamp."""
        facts = ENTITIES[entity]
        record = {**_BLANK[entity], **fields}
        record[facts.id_field] = self.new_id()
        if facts.created_field is not None:
            record[facts.created_field] = self._timestamp()
        self.store.insert(entity, record)
        self.changes.append(Change(ChangeOp.CREATE, entity, record[facts.id_field], None, dict(record)))
        return record

    def update(self, entity: Entity, before: Record, changes: dict[str, Any]) -> Record:
        record_id = before[_ID_FIELDS[entity]]
        after = {**before, **changes}
        if after != before:
            self.store.update(entity, record_id, changes)
            self.changes.append(Change(ChangeOp.UPDATE, entity, record_id, before, dict(after)))
        return after

    def delete(self, entity: Entity, before: Record) -> None:
        record_id = before[_ID_FIELDS[entity]]
        self.store.delete(entity, record_id)
        self.changes.append(Change(ChangeOp.DELETE, entity, record_id, before, None))

    def search(
        self, entity: Entity, conditions: Sequence[Condition], limit: int, offset: int
    ) -> dict[str, Any]:
        """A search result: every match counted, one bounded page returned, stable order."""
        page = self.store.find(entity, conditions, limit=limit, offset=offset)
        return {
            "total": page.total,
            "count": len(page.records),
            "offset": offset,
            "limit": limit,
            "results": page.records,
        }
