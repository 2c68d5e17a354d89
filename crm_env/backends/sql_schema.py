"""SQL tables derived from the schema facts (``crm_env.schema.facts``), for PostgreSQL and SQLite.

Design choices, each made for parity with the memory store:

- **Episode key.** Every table has an ``episode`` column leading its primary key, foreign keys and
  unique index. An episode is one never-committed transaction; its rows carry a random 63-bit key.
  Two concurrent episodes that insert the same ids (ids come from a seeded RNG, so they do) or the
  same client e-mail therefore never touch the same index entry, so neither waits on the other's
  uncommitted row. Without the key, a unique index would make the second episode block until the
  first ends. Data written by ``crm-env db seed`` / ``restore`` is committed under key 0.
- **Text, not native types.** Ids, enums, dates and timestamps are text columns guarded by CHECK
  constraints (UUID shape, allowed enum values, ISO shape), so they read back as exactly the strings
  the memory store holds and compare as text. PostgreSQL columns use ``COLLATE "C"`` (byte order of
  UTF-8 = code point order = Python's ``str`` order); SQLite's default BINARY collation is the same.
- **Casefolded shadow columns** (``cf_<field>``) hold ``str.casefold()`` computed in Python for
  every free-text and enum field: SQL ``lower()`` differs from casefold (SQLite's is ASCII-only,
  neither maps 'ß' to 'ss'). The case-insensitive unique e-mail index is on ``cf_email``. Ids and
  dates need no shadow: their CHECKs keep them lowercase hex / digits, which casefold leaves alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from crm_env.schema.enums import Entity
from crm_env.schema.facts import ENTITIES, FieldFact

EPISODE = "episode"
TABLE_PREFIX = "crm_"
_PG_PATTERNS = {
    "uuid": r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
    "date": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    "date-time": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$",
}
_D, _X = "[0-9]", "[0-9a-f]"
_SQLITE_GLOBS = {
    "uuid": "-".join(_X * n for n in (8, 4, 4, 4, 12)),
    "date": f"{_D * 4}-{_D * 2}-{_D * 2}",
    "date-time": f"{_D * 4}-{_D * 2}-{_D * 2}T{_D * 2}:{_D * 2}:{_D * 2}Z",
}


def shadow(field: str) -> str:
    """Name of the casefolded shadow column of a text field."""
    return f"cf_{field}"


def has_shadow(fact: FieldFact) -> bool:
    return fact.json_type == "string" and fact.format not in ("uuid", "date")


def table_name(entity: Entity) -> str:
    return TABLE_PREFIX + entity.value.lower()


@dataclass(frozen=True)
class EntityTable:
    """One entity's table plus the column facts the store needs on every call."""

    entity: Entity
    table: sa.Table
    fields: tuple[str, ...]  # model fields, in model order (the columns a record is read from)
    shadows: tuple[str, ...]  # fields with a casefolded shadow column
    id_field: str


@dataclass(frozen=True)
class Schema:
    metadata: sa.MetaData
    tables: dict[Entity, EntityTable]
    load_order: tuple[Entity, ...]  # parents before children (foreign keys)


def _text(dialect: str) -> sa.types.TypeEngine:
    return sa.Text(collation="C") if dialect == "postgresql" else sa.Text()


def _range_bounds(entity: Entity, field: str) -> tuple[str, ...]:
    """CHECK clauses from the model's JSON schema bounds (e.g. amount > 0 AND amount <= 10000000)."""
    prop = ENTITIES[entity].model.model_json_schema()["properties"][field]
    spec = next((s for s in prop.get("anyOf", [prop]) if s.get("type") in ("number", "integer")), {})
    ops = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}
    return tuple(f"{field} {op} {spec[key]}" for key, op in ops.items() if key in spec)


def _checks(entity: Entity, fact: FieldFact, dialect: str) -> list[str]:
    name = fact.name
    checks: list[str] = []
    if fact.enum is not None:
        allowed = ", ".join("'" + m.value.replace("'", "''") + "'" for m in fact.enum)
        checks.append(f"{name} IN ({allowed})")
    if fact.format in _PG_PATTERNS:
        if dialect == "postgresql":
            checks.append(f"{name} ~ '{_PG_PATTERNS[fact.format]}'")
        else:
            checks.append(f"{name} GLOB '{_SQLITE_GLOBS[fact.format]}'")
    if fact.format == "email":
        checks.append(f"{name} LIKE '%_@_%'")
    if fact.json_type in ("number", "integer"):
        checks.extend(_range_bounds(entity, name))
    return checks


def _column(fact: FieldFact, dialect: str, is_id: bool) -> sa.Column:
    if fact.json_type == "number":
        kind: sa.types.TypeEngine = sa.Double()
    elif fact.json_type == "integer":
        kind = sa.Integer()
    elif fact.json_type == "array":
        kind = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
    else:
        kind = _text(dialect)
    return sa.Column(fact.name, kind, nullable=not (fact.required or is_id))


def _load_order() -> tuple[Entity, ...]:
    order: list[Entity] = []
    while len(order) < len(ENTITIES):
        for entity, facts in ENTITIES.items():
            parents = {f.references for f in facts.fields if f.references is not None} - {entity}
            if entity not in order and parents <= set(order):
                order.append(entity)
    return tuple(order)


@cache
def build_schema(dialect: str) -> Schema:
    """The tables for one SQL dialect (``postgresql`` or ``sqlite``)."""
    metadata = sa.MetaData()
    tables: dict[Entity, EntityTable] = {}
    for entity, facts in ENTITIES.items():
        name = table_name(entity)
        items: list[sa.SchemaItem] = [sa.Column(EPISODE, sa.BigInteger(), nullable=False)]
        shadows = []
        for fact in facts.fields:
            items.append(_column(fact, dialect, fact.name == facts.id_field))
            if has_shadow(fact):
                items.append(sa.Column(shadow(fact.name), _text(dialect), nullable=not fact.required))
                shadows.append(fact.name)
            for i, check in enumerate(_checks(entity, fact, dialect)):
                items.append(sa.CheckConstraint(check, name=f"ck_{name}_{fact.name}_{i}"))
            if fact.references is not None:
                parent = ENTITIES[fact.references]
                target = table_name(fact.references)
                items.append(
                    sa.ForeignKeyConstraint(
                        [EPISODE, fact.name],
                        [f"{target}.{EPISODE}", f"{target}.{parent.id_field}"],
                        name=f"fk_{name}_{fact.name}",
                    )
                )
        items.append(sa.PrimaryKeyConstraint(EPISODE, facts.id_field, name=f"pk_{name}"))
        table = sa.Table(name, metadata, *items)
        # Indexes for the search filters, the foreign keys and the attachment lookups.
        for fact in facts.fields:
            if fact.references is not None or fact.enum is not None and not facts.polymorphic:
                sa.Index(f"ix_{name}_{fact.name}", table.c[EPISODE], table.c[fact.name])
        if facts.polymorphic:
            sa.Index(f"ix_{name}_entity", table.c[EPISODE], table.c.entity_type, table.c.entity_id)
        sort = [table.c[EPISODE], *(table.c[f] for f in facts.sort_key)]
        sa.Index(f"ix_{name}_sort", *sort)
        if entity is Entity.CLIENT:
            # Case-insensitive uniqueness, scoped to the episode (see the module docstring).
            sa.Index(f"ux_{name}_email", table.c[EPISODE], table.c[shadow("email")], unique=True)
        tables[entity] = EntityTable(entity, table, facts.field_names, tuple(shadows), facts.id_field)
    return Schema(metadata, tables, _load_order())
