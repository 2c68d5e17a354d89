"""Shared pieces of a generated turn: the ``Step`` a builder returns, and phrasing helpers.

A builder looks at the world, picks records, and returns the utterance, the gold calls and how to
read the reply facts off the calls' results. The generator runs the calls, so every step is checked
against the state it meets before it is written down.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from crm_env.datasets.format import FailureCategory, ReplyFact
from crm_env.datasets.generator.world import Handle, World
from crm_env.datasets.intents import TaskIntent
from crm_env.schema.enums import Entity

FactsFn = Callable[[list[Any]], list[ReplyFact]]
T = TypeVar("T")

# Fields never stated as reply facts: ids and stamps cannot recur in another episode.
NOT_FACTS = frozenset({"created_date", "created_at", "uploaded_at"})


@dataclass
class Step:
    intent: TaskIntent
    utterance: str
    calls: list[tuple[str, dict[str, Any]]]
    facts: FactsFn = field(default=lambda results: [])
    failure: FailureCategory | None = None
    expected_error: str | None = None
    touched: list[Handle] = field(default_factory=list)


def pick_text(w: World, options: tuple[str, ...] | list[str], **values: Any) -> str:
    return w.rng.choice(options).format(**values)


def fresh(current: Any, draw: Callable[[], T]) -> T:
    """A new value for a field: ``draw()`` again until it differs from the value the field holds.

    A request to set a field to the value it already has changes nothing, so an agent doing nothing
    would pass the turn (lint's ``no_change`` check). Drawing again only on a collision leaves every
    conversation without one as it was.
    """
    for _ in range(100):
        value = draw()
        if value != current:
            return value
    raise RuntimeError(f"no value other than {current!r} after 100 draws: a generator bug")


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def usd(value: float) -> str:
    return f"${value:,.0f}"


def listing(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def mention(h: Handle, w: World) -> str:
    """How the user names a record in an utterance."""
    if h.entity is Entity.OPPORTUNITY:
        return w.rng.choice((f'the "{h.label}" deal', f'opportunity "{h.label}"', f'the "{h.label}" opportunity'))
    if h.entity is Entity.CLIENT:
        return h.label or ""
    if h.entity is Entity.CONTACT:
        return h.label or ""
    if h.entity is Entity.COMPANY:
        return h.label or ""
    noun = h.entity.value.lower()
    return f"{noun} {h.arg}"


def fact(label: str, value: Any) -> ReplyFact:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return ReplyFact(label=label, value=value)


def record_facts(*fields: str) -> FactsFn:
    """Facts read from the first call's record: the named fields that are set."""

    def read(results: list[Any]) -> list[ReplyFact]:
        record = results[0]
        return [fact(f, record[f]) for f in fields if record.get(f) is not None and f not in NOT_FACTS]

    return read


def search_facts(name_field: str) -> FactsFn:
    """A search's total, and the names of the matches when there are few."""

    def read(results: list[Any]) -> list[ReplyFact]:
        page = results[0]
        out = [fact("total", page["total"])]
        if page["total"] <= 3:
            for record in page["results"]:
                out.append(fact("match", record[name_field]))
        return out

    return read


def is_open(record: dict[str, Any]) -> bool:
    return record["stage"] not in ("Closed-Won", "Closed-Lost")


def not_canceled(record: dict[str, Any]) -> bool:
    return record["status"] != "Canceled"
