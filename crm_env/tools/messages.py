"""Human-readable argument errors that say how to fix the call."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

_TYPE_NAMES = {
    "string_type": "a string",
    "float_type": "a number",
    "int_type": "a whole number",
    "list_type": "a list",
    "dict_type": "an object",
    "bool_type": "true or false",
}
_BOUNDS = {
    "greater_than": ">",
    "greater_than_equal": ">=",
    "less_than": "<",
    "less_than_equal": "<=",
}


def short(value: Any, limit: int = 60) -> str:
    """A bounded repr: error messages never echo huge inputs back."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _where(loc: Sequence[Any]) -> str:
    return ".".join(str(part) for part in loc) or "arguments"


def _one(error: dict[str, Any]) -> str:
    kind = error["type"]
    where = _where(error["loc"])
    value = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return f"missing required argument '{where}'"
    if kind == "extra_forbidden":
        return f"unknown argument '{where}'"
    if kind == "enum":
        expected = ctx.get("expected", "").replace("'", "").replace(" or ", ", ")
        return f"{where}={short(value)} is not allowed; use exactly one of: {expected} (case-sensitive)"
    if kind in _TYPE_NAMES:
        return f"{where} must be {_TYPE_NAMES[kind]}, not {type(value).__name__} {short(value)}"
    if kind in _BOUNDS:
        limit = next(iter(ctx.values()), "?")
        return f"{where} must be {_BOUNDS[kind]} {limit} (got {short(value)})"
    if kind == "too_short":
        return f"{where} needs at least {ctx.get('min_length')} item(s)"
    if kind == "too_long":
        return f"{where} accepts at most {ctx.get('max_length')} item(s)"
    if kind == "value_error":
        return f"{where}: {ctx.get('error', error['msg'])}"
    return f"{where}: {error['msg']}"


def describe_errors(
    tool: str, errors: Sequence[dict[str, Any]], required: Sequence[str], optional: Sequence[str]
) -> str:
    """One message for every problem of a call, plus the allowed arguments when names were wrong."""
    problems = "; ".join(_one(e) for e in errors[:8])
    if len(errors) > 8:
        problems += f"; and {len(errors) - 8} more"
    message = f"{tool}: {problems}."
    if any(e["type"] in ("missing", "extra_forbidden") for e in errors):
        allowed = [f"{n} (required)" for n in required] + list(optional)
        message += f" Allowed arguments: {', '.join(allowed) or 'none'}."
    return message
