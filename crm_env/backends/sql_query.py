"""Turning store conditions into SQL with exactly ``crm_env.backends.base.matches`` semantics.

A condition SQL cannot express faithfully (arrays, a value of the wrong type, an operator on an
id or date column that needs casefold text it does not have) is left to Python: the store then
filters the SQL-ordered rows with ``matches`` itself, so the answer is the memory store's answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import sqlalchemy as sa

from crm_env.backends.base import Condition, Op
from crm_env.backends.sql_schema import EPISODE, EntityTable, shadow
from crm_env.schema.enums import Entity
from crm_env.schema.facts import ENTITIES, FieldFact

_FALSE = sa.false()


@cache
def _facts(entity: Entity) -> dict[str, FieldFact]:
    return {f.name: f for f in ENTITIES[entity].fields}


def _fits(fact: FieldFact, value: object) -> bool:
    """Whether a Python value can equal a stored value of this field without a type error in SQL."""
    if fact.json_type == "string":
        return isinstance(value, str)
    if fact.json_type in ("number", "integer"):
        return isinstance(value, int | float) and not isinstance(value, bool)
    return False


def _substring(dialect: str, haystack: sa.ColumnElement, needle: str) -> sa.ColumnElement:
    # strpos / instr match the needle literally, so '%' and '_' in user text need no LIKE escaping
    # and SQLite's ASCII case-insensitive LIKE never comes into play.
    func = sa.func.strpos if dialect == "postgresql" else sa.func.instr
    return func(haystack, needle) > 0


def translate(
    et: EntityTable, condition: Condition, dialect: str
) -> sa.ColumnElement | None:
    """A WHERE clause equal to the condition, or None when Python must evaluate it."""
    fact = _facts(et.entity).get(condition.field)
    if fact is None or fact.json_type == "array":
        return None
    column = et.table.c[fact.name]
    op, value = condition.op, condition.value
    if op is Op.IN:
        if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
            return None
        values = list(value)
        if not all(v is None or _fits(fact, v) for v in values):
            return None
        present = [v for v in values if v is not None]
        clauses = [column.in_(present)] if present else []
        if len(present) < len(values):
            clauses.append(column.is_(None))
        return sa.or_(*clauses) if clauses else _FALSE
    if value is None:
        return _FALSE  # the memory store never matches a None value with these operators
    if not _fits(fact, value):
        return None
    if op is Op.EQ:
        return column == value
    if op in (Op.GE, Op.LE):
        return column >= value if op is Op.GE else column <= value
    if fact.json_type != "string":
        return None
    # Shadow columns hold casefold(); ids and dates are already casefold-invariant (CHECKed).
    folded = et.table.c[shadow(fact.name)] if fact.name in et.shadows else column
    if op is Op.IEQ:
        return folded == value.casefold()
    if op is Op.CONTAINS:
        return _substring(dialect, folded, value.casefold())
    return None


def split(
    et: EntityTable, conditions: Sequence[Condition], dialect: str
) -> tuple[list[sa.ColumnElement], list[Condition]]:
    """SQL clauses for the conditions SQL can answer, and the rest for Python."""
    where: list[sa.ColumnElement] = []
    rest: list[Condition] = []
    for condition in conditions:
        clause = translate(et, condition, dialect)
        if clause is None:
            rest.append(condition)
        else:
            where.append(clause)
    return where, rest


@cache
def order_by(et: EntityTable) -> tuple[sa.ColumnElement, ...]:
    """The memory store's order: the entity's sort key, code point order, nulls last."""
    return tuple(et.table.c[f].asc().nulls_last() for f in ENTITIES[et.entity].sort_key)


@cache
def record_columns(et: EntityTable) -> tuple[sa.Column, ...]:
    return tuple(et.table.c[f] for f in et.fields)


def episode_clause(et: EntityTable) -> sa.ColumnElement:
    return et.table.c[EPISODE] == sa.bindparam("episode")
