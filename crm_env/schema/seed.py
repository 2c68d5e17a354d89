"""Validating initial records once, so seeding an episode is only a copy.

A ``Seed`` is an immutable, checked set of records: every record fits its model, ids are unique,
foreign keys and attachments resolve, client e-mails are unique (case-insensitively), and creation
stamps missing from the input are filled from the clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from crm_env.errors import SeedError
from crm_env.schema.clock import Clock
from crm_env.schema.enums import Entity
from crm_env.schema.facts import ENTITIES
from crm_env.tools.messages import describe_errors

Records = dict[Entity, tuple[dict[str, Any], ...]]


@dataclass(frozen=True, slots=True)
class Seed:
    """Checked initial records, ready to be loaded into any store."""

    records: Records

    @property
    def size(self) -> int:
        return sum(len(rows) for rows in self.records.values())

    def to_json(self) -> dict[str, list[dict[str, Any]]]:
        return {entity.value: [dict(r) for r in rows] for entity, rows in self.records.items() if rows}


def _entity(name: object) -> Entity:
    try:
        return Entity(name)
    except ValueError:
        raise SeedError(f"unknown record type {name!r}; use one of: {', '.join(e.value for e in Entity)}") from None


def _rows(entity: Entity, value: object) -> list[dict[str, Any]]:
    """Accept a list of records, or a mapping of id → fields (the previous tool's shape)."""
    id_field = ENTITIES[entity].id_field
    if isinstance(value, Mapping):
        return [{id_field: key, **fields} for key, fields in value.items()]
    if isinstance(value, list | tuple):
        return list(value)
    raise SeedError(f"{entity.value} records must be a list of objects or an object keyed by id")


def _check_links(records: Records) -> list[str]:
    ids = {entity: {r[ENTITIES[entity].id_field] for r in rows} for entity, rows in records.items()}
    problems = []
    for entity, rows in records.items():
        facts = ENTITIES[entity]
        for row in rows:
            for field in facts.fields:
                target = field.references
                if target is not None and row[field.name] is not None and row[field.name] not in ids[target]:
                    problems.append(f"{entity.value} {row[facts.id_field]}: {field.name} {row[field.name]!r} does not exist")
            if facts.polymorphic and row["entity_id"] not in ids[Entity(row["entity_type"])]:
                problems.append(
                    f"{entity.value} {row[facts.id_field]}: {row['entity_type']} {row['entity_id']!r} does not exist"
                )
    emails: dict[str, str] = {}
    for row in records[Entity.CLIENT]:
        if row["email"] is not None:
            key = row["email"].casefold()
            if key in emails:
                problems.append(f"Client {row['client_id']}: e-mail {row['email']!r} is already used by {emails[key]}")
            emails[key] = row["client_id"]
    return problems


def build_seed(raw: Mapping[str, Any] | Seed, clock: Clock) -> Seed:
    """Check raw initial records and return a ``Seed``.

    Args:
        raw: Record type name → list of records (or id → fields); a ``Seed`` is returned as is.
        clock: Supplies creation stamps that the records leave out.

    Raises:
        SeedError: Listing every problem found.
    """
    if isinstance(raw, Seed):
        return raw
    if not isinstance(raw, Mapping):
        raise SeedError("initial records must be an object of record type → records")
    records: dict[Entity, list[dict[str, Any]]] = {entity: [] for entity in Entity}
    problems: list[str] = []
    for name, value in raw.items():
        entity = _entity(name)
        facts = ENTITIES[entity]
        seen: set[str] = set()
        for row in _rows(entity, value):
            if not isinstance(row, Mapping):
                problems.append(f"{entity.value}: each record must be an object, not {type(row).__name__}")
                continue
            data = dict(row)
            if facts.created_field is not None and data.get(facts.created_field) is None:
                data[facts.created_field] = clock.timestamp()
            try:
                record = facts.model.model_validate(data).model_dump(mode="json")
            except PydanticValidationError as exc:
                required = tuple(f.name for f in facts.fields if f.required)
                optional = tuple(f.name for f in facts.fields if not f.required)
                problems.append(describe_errors(f"{entity.value} {data.get(facts.id_field)!r}", exc.errors(), required, optional))
                continue
            if record[facts.id_field] in seen:
                problems.append(f"{entity.value}: id {record[facts.id_field]!r} appears twice")
            seen.add(record[facts.id_field])
            records[entity].append(record)
    frozen = {entity: tuple(rows) for entity, rows in records.items()}
    if not problems:
        problems = _check_links(frozen)
    if problems:
        raise SeedError("invalid initial records: " + " | ".join(problems[:20]))
    return Seed(frozen)


EMPTY_SEED = Seed({entity: () for entity in Entity})
