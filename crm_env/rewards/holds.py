"""Whether a value a reply states holds of a record: the one comparison the reply checks share."""

from __future__ import annotations

from typing import Any

from crm_env.rewards.claims import Mention
from crm_env.rewards.world import DATE_FIELDS, NUMBER_FIELDS, World, loose


def values_of(m: Mention, record: Any) -> list[Any]:
    """The values of a record that a mention of its kind could state."""
    if m.kind in ("number", "percent"):
        return [record.get(f) for f in NUMBER_FIELDS if isinstance(record.get(f), int | float)]
    if m.kind == "date":
        return [str(record.get(f))[:10] for f in DATE_FIELDS if record.get(f)]
    if m.kind == "version":
        return [record.get("version")]
    if m.kind == "email":
        return [str(record.get("email", "")).lower()]
    if m.kind == "person":
        return [record.get(f) for f in ("owner", "uploaded_by", "created_by")]
    return [v for k, v in record.items() if isinstance(v, str) and not k.endswith("_id")]


def matches(m: Mention, value: Any) -> bool:
    """Whether a mention states ``value`` (numbers within the rounding the reply wrote them with)."""
    if value is None:
        return False
    if m.kind in ("number", "percent"):
        return isinstance(value, int | float) and abs(float(value) - m.value) <= max(m.tolerance, 0.005)
    if m.kind == "date":
        text = str(value)[:10]
        return any(text == v if isinstance(v, str) else text[5:] == f"{v[0]:02d}-{v[1]:02d}" for v in m.value)
    if m.kind == "version":
        return str(value) == m.value or str(value).rstrip("0").rstrip(".") == m.value
    if m.kind == "email":
        return str(value).lower() == m.value
    return loose(str(value)) == loose(str(m.value))


def true_of(m: Mention, world: World, ids: set[str]) -> bool:
    """Whether some record of ``ids`` has the value, after the turn or before it."""
    return any(matches(m, v) for rid in ids for record in world.versions(rid) for v in values_of(m, record))
