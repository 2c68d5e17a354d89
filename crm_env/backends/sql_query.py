"""Turning store conditions into SQL with exactly ``crm_env.backends.base.matches`` semantics.

A condition SQL cannot express faithfully (arrays, a value of the wrong type, an operator on an
id or date column that needs casefold text it does not have) is left to Python: the store then
filters the SQL-ordered rows with ``matches`` itself, so the answer is the memory store's answer.
"""

from __future__ import annotations

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


def _substring(dialect: str, haystack: sa.ColumnElement, needle: str | sa.BindParameter) -> sa.ColumnElement:
    # strpos / instr match the needle literally, so '%' and '_' in user text need no LIKE escaping
    # and SQLite's ASCII case-insensitive LIKE never comes into play.
    func = sa.func.strpos if dialect == "postgresql" else sa.func.instr
    return func(haystack, needle) > 0


# -- cached statements --------------------------------------------------------------------------
#
# ``find`` runs the same few statement shapes over and over; building a fresh SELECT for each call
# (and letting SQLAlchemy derive its cache key) cost more client time than the database needed to
# answer it. A condition is therefore reduced to a *shape* (field, operator, which branches apply)
# plus its parameter value, and the statement for a tuple of shapes is built once, with bind
# parameters, per entity table.


def plan(et: EntityTable, condition: Condition) -> tuple[tuple, object] | None:
    """The condition's shape and bound value, or None when Python must evaluate it.

    ``clause(et, shape, name, dialect)`` is the SQL for the shape, equal to ``matches`` for it.
    """
    fact = _facts(et.entity).get(condition.field)
    if fact is None or fact.json_type == "array":
        return None
    op, value = condition.op, condition.value
    if op is Op.IN:
        if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
            return None
        values = list(value)
        if not all(v is None or _fits(fact, v) for v in values):
            return None
        present = [v for v in values if v is not None]
        return ("in", fact.name, bool(present), len(present) < len(values)), present
    if value is None:
        return ("false",), None
    if not _fits(fact, value):
        return None
    if op in (Op.EQ, Op.GE, Op.LE):
        return (op.value, fact.name), value
    if fact.json_type != "string":
        return None
    if op in (Op.IEQ, Op.CONTAINS):
        return (op.value, fact.name), value.casefold()
    return None


def clause(et: EntityTable, shape: tuple, name: str, dialect: str) -> sa.ColumnElement:
    """The WHERE clause of one condition shape, its value bound as ``name``."""
    kind = shape[0]
    if kind == "false":
        return _FALSE
    column = et.table.c[shape[1]]
    if kind == "in":
        clauses = [column.in_(sa.bindparam(name, expanding=True))] if shape[2] else []
        if shape[3]:
            clauses.append(column.is_(None))
        return sa.or_(*clauses) if clauses else _FALSE
    param = sa.bindparam(name, type_=column.type)  # as a literal compared with the column gets
    if kind == "eq":
        return column == param
    if kind == "ge":
        return column >= param
    if kind == "le":
        return column <= param
    folded = et.table.c[shadow(shape[1])] if shape[1] in et.shadows else column
    if kind == "ieq":
        return folded == param
    return _substring(dialect, folded, sa.bindparam(name))


@cache
def order_by(et: EntityTable) -> tuple[sa.ColumnElement, ...]:
    """The memory store's order: the entity's sort key, code point order, nulls last."""
    return tuple(et.table.c[f].asc().nulls_last() for f in ENTITIES[et.entity].sort_key)


@cache
def record_columns(et: EntityTable) -> tuple[sa.Column, ...]:
    return tuple(et.table.c[f] for f in et.fields)


def episode_clause(et: EntityTable) -> sa.ColumnElement:
    return et.table.c[EPISODE] == sa.bindparam("episode")
