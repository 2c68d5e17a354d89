"""Business rules shared by the tools: written once, enforced the same way on every backend."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crm_env.backends.base import Condition, Op, Record
from crm_env.errors import ConflictError, RuleViolationError, ValidationError
from crm_env.schema.enums import CLOSED_STAGES, Entity
from crm_env.schema.facts import ENTITIES
from crm_env.tools.context import Context

FROZEN_WHEN_CLOSED: tuple[str, ...] = ("stage", "amount", "probability", "close_date")
_PAGING = frozenset({"limit", "offset"})
_RANGE_SUFFIXES = {"_min": Op.GE, "_from": Op.GE, "_max": Op.LE, "_to": Op.LE}


def given(arguments: Mapping[str, Any], *exclude: str) -> dict[str, Any]:
    """The arguments a caller actually supplied (unset ones are None), minus ``exclude``."""
    return {k: v for k, v in arguments.items() if v is not None and k != "ctx" and k not in exclude}


def require_changes(tool: str, changes: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    if not changes:
        raise ValidationError(f"{tool}: nothing to update; give at least one of: {', '.join(allowed)}.")


def check_client_email(ctx: Context, email: str, exclude_id: str | None = None) -> None:
    """Client e-mails are unique, compared case-insensitively, on create and on modify."""
    for other in ctx.store.find(Entity.CLIENT, [Condition("email", Op.IEQ, email)]).records:
        if other["client_id"] != exclude_id:
            raise ConflictError(
                f"Another client ({other['name']!r}, client_id={other['client_id']!r}) already uses the e-mail "
                f"{email!r} (e-mails are compared case-insensitively); use a different address or update that client."
            )


def check_not_past(ctx: Context, argument: str, value: str) -> None:
    """Dates that look forward may not lie before the episode clock's date."""
    if value < ctx.clock.today_iso:
        raise ValidationError(
            f"{argument}={value!r} is in the past; it must be on or after today's date {ctx.clock.today_iso}."
        )


def check_date_order(start: str | None, end: str | None) -> None:
    if start is not None and end is not None and end < start:
        raise ValidationError(f"end_date {end!r} is before start_date {start!r}; the end must be on or after the start.")


def check_open_deal(opportunity: Record, changes: Mapping[str, Any]) -> None:
    """Closed deals (Closed-Won / Closed-Lost) keep their stage, amount, probability and close date."""
    if opportunity["stage"] not in CLOSED_STAGES:
        return
    frozen = [f for f in FROZEN_WHEN_CLOSED if f in changes and changes[f] != opportunity[f]]
    if frozen:
        raise RuleViolationError(
            f"Opportunity {opportunity['opportunity_id']!r} is {opportunity['stage']}, so its "
            f"{', '.join(FROZEN_WHEN_CLOSED)} cannot change (asked to change: {', '.join(frozen)}). "
            "Only name, owner and notes of a closed deal can be edited."
        )


def require_parent(ctx: Context, entity_type: str, entity_id: str) -> Record:
    """The record a document or note is attached to."""
    return ctx.require(Entity(entity_type), entity_id, "entity_id")


def search_conditions(entity: Entity, filters: Mapping[str, Any]) -> list[Condition]:
    """Conditions for a search tool's filters, derived from the filter names and the schema.

    ``x_min`` / ``x_from`` and ``x_max`` / ``x_to`` are inclusive ranges on ``x``; ids and enums match
    exactly; other text matches as a case-insensitive substring.
    """
    facts = ENTITIES[entity]
    conditions = []
    for name, value in filters.items():
        if value is None or name in _PAGING:
            continue
        suffix = next((s for s in _RANGE_SUFFIXES if name.endswith(s)), None)
        if suffix is not None:
            conditions.append(Condition(name[: -len(suffix)], _RANGE_SUFFIXES[suffix], value))
            continue
        fact = facts.field(name)
        exact = fact.enum is not None or fact.format == "uuid"
        conditions.append(Condition(name, Op.EQ if exact else Op.CONTAINS, value))
    return conditions
