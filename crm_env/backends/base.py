"""The store contract every backend implements.

A store only keeps records: it knows nothing of business rules, which live once in the tool layer
(``crm_env.tools``). That split is what makes backends agree: the same validated operations reach
every store, and each store needs only these primitives.

Records are plain dicts holding every field of the entity's model (``None`` where unset). A store
returns fresh dicts the caller may mutate freely.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from crm_env.schema.enums import Entity

Record = dict[str, Any]


class Op(StrEnum):
    """Comparison operators a query condition may use.

    Case-insensitive matching means Python's ``str.casefold`` on both sides; SQL backends must give
    the same answers (e.g. by storing casefolded shadow columns), not their database's own collation.
    """

    EQ = "eq"  # exact equality
    IEQ = "ieq"  # equality after casefold
    CONTAINS = "contains"  # substring after casefold
    GE = "ge"  # >= (numbers, ISO dates and timestamps compare as text of equal shape)
    LE = "le"  # <=
    IN = "in"  # value is one of a sequence


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    op: Op
    value: Any


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a query: ``total`` counts every match, ``records`` holds the page."""

    total: int
    records: list[Record]


@runtime_checkable
class Store(Protocol):
    """Storage primitives for one episode's CRM.

    ``begin_episode`` starts a fresh, empty, isolated CRM; ``atomic`` wraps one tool call so that a
    failure inside undoes exactly that call's writes and nothing earlier.
    """

    url: str

    def begin_episode(self) -> None:
        """Discard everything the current episode wrote and start an empty one."""

    def load(self, records: Mapping[Entity, Sequence[Record]]) -> None:
        """Bulk-insert already validated records (seeding); no rule checks."""

    def get(self, entity: Entity, record_id: str) -> Record | None:
        """The record with that id, or None."""

    def insert(self, entity: Entity, record: Record) -> None:
        """Insert a complete, validated record."""

    def update(self, entity: Entity, record_id: str, changes: Record) -> None:
        """Overwrite the given fields of an existing record."""

    def delete(self, entity: Entity, record_id: str) -> None:
        """Remove an existing record."""

    def find(
        self,
        entity: Entity,
        conditions: Sequence[Condition] = (),
        *,
        limit: int | None = None,
        offset: int = 0,
    ) -> Page:
        """Records matching every condition, in the entity's sort order, paged."""

    def atomic(self) -> AbstractContextManager[None]:
        """A scope whose writes are undone if it exits with an exception.

        Scopes do not nest independently: an inner scope joins the outermost one, whose outcome
        decides for every write made inside it.
        """

    def dump(self) -> dict[Entity, list[Record]]:
        """Every record of every entity, each list sorted by id."""

    def close(self) -> None:
        """Release connections; safe to call twice."""


def matches(record: Record, condition: Condition) -> bool:
    """Reference semantics of a condition, used by the memory store and by tests."""
    value = record.get(condition.field)
    op = condition.op
    if op is Op.IN:
        return value in condition.value
    if value is None:
        return False
    if op is Op.EQ:
        return value == condition.value
    if op is Op.IEQ:
        return value.casefold() == condition.value.casefold()
    if op is Op.CONTAINS:
        return condition.value.casefold() in value.casefold()
    if op is Op.GE:
        return value >= condition.value
    if op is Op.LE:
        return value <= condition.value
    raise ValueError(f"unknown operator {op!r}")


def iter_all(store: Store, entity: Entity, conditions: Sequence[Condition] = ()) -> Iterator[Record]:
    """Every matching record, unpaged."""
    yield from store.find(entity, conditions).records
