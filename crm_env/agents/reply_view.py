"""What an offline agent knows when it replies to a turn, and the lookups reply templates use.

``ReplyContext`` is the input of every reply template (``crm_env.agents.phrasing``); ``ReplyView`` wraps
it with the turn's facts by label, its main tool result, and how records are named (only records the
agent saw or the user named: ``crm_env.agents.names``).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from crm_env.agents.names import NameBook, display_name
from crm_env.agents.wording import article, field_words, value_text
from crm_env.datasets.intents import TaskIntent as I  # noqa: N814 - reads better short
from crm_env.schema.enums import ToolKind
from crm_env.tools import get_spec


@dataclass(frozen=True, slots=True)
class ReplyContext:
    """What the agent knows when it replies to one turn.

    Attributes:
        key: Seeds the choice of wording (conversation id and turn: replays say the same thing).
        intent: The turn's task.
        facts: ``(label, value)`` pairs the reply states (references already resolved).
        results: This turn's tool results (``{"tool", "ok", "data" | "error"}``), the ones that did the work.
        arguments: The arguments of the agent's (last) call for this turn (a search's filters, a target id).
        error: For a refused request, the tool's error message.
        names: The records the agent may name (None: it names none).
        utterance: The user's request as the agent received it.
    """

    key: str
    intent: I
    facts: tuple[tuple[str, Any], ...] = ()
    results: tuple[Mapping[str, Any], ...] = ()
    arguments: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    names: NameBook | None = None
    utterance: str = ""




def is_write(intent: I) -> bool:
    return get_spec(intent.tool).kind is ToolKind.WRITE


def pick(key: str, slot: str, options: Sequence[str]) -> str:
    """One of ``options``, fixed by the turn's key (crc32: the same in every process, unlike ``hash``)."""
    return options[zlib.crc32(f"{key}\x00{slot}".encode()) % len(options)]


# ---------------------------------------------------------------------------------------------- views
class ReplyView:
    """A turn's facts and main result, with the lookups the templates need."""

    __slots__ = ("args", "ctx", "data", "facts", "many", "used")

    def __init__(self, ctx: ReplyContext) -> None:
        self.ctx = ctx
        self.args = ctx.arguments
        self.facts: dict[str, Any] = {}
        self.many: dict[str, list[Any]] = {}
        for label, value in ctx.facts:
            self.facts.setdefault(label, value)
            self.many.setdefault(label, []).append(value)
        ok = [r.get("data") for r in ctx.results if r.get("ok")]
        self.data: Mapping[str, Any] = ok[-1] if ok and isinstance(ok[-1], Mapping) else {}
        self.used: set[str] = set()

    def has(self, label: str) -> bool:
        return label in self.facts

    def get(self, label: str) -> Any:
        self.used.add(label)
        return self.facts.get(label)

    def text(self, label: str) -> str:
        return value_text(label, self.get(label))

    def rest(self) -> list[str]:
        """Facts no template phrase has stated yet, as "field value" (so every fact is always stated)."""
        return [f"{field_words(label)} {value_text(label, value)}"
                for label, value in self.ctx.facts if label not in self.used]

    def pick(self, slot: str, *options: str) -> str:
        return pick(self.ctx.key, f"{self.ctx.intent}:{slot}", options)

    def name(self, record_id: Any) -> str | None:
        return self.ctx.names.name_of(record_id) if self.ctx.names is not None else None

    def record(self, record_id: Any) -> Mapping[str, Any] | None:
        return self.ctx.names.record(record_id) if self.ctx.names is not None else None

    def quote(self, quote: Mapping[str, Any] | None = None, quote_id: Any = None) -> str:
        """``the SALES quote on Keystone Expansion H1``, ``quote <id the user gave>`` or ``the quote``."""
        record = quote or self.record(quote_id)
        quote_id = quote_id or (record or {}).get("quote_id")
        prefix = (record or {}).get("quote_prefix")
        base = f"the {prefix} quote" if prefix and "quote_prefix" not in self.facts else "the quote"
        deal = self.name((record or {}).get("opportunity_id"))
        if deal:
            return f"{base} on {deal}"
        if isinstance(quote_id, str) and quote_id in self.ctx.utterance:
            return f"quote {quote_id}"
        return base

    def target(self, entity: str, record_id: Any, record: Mapping[str, Any] | None = None) -> str:
        """A record as a reply names it: a deal or client by name, a quote by deal, else generically."""
        entity = entity.lower()
        if entity == "quote":
            return self.quote(record, record_id)
        named = display_name(record) if record else self.name(record_id)
        if entity == "contract":
            client = self.name((record or self.record(record_id) or {}).get("client_id"))
            return f"the contract for {client}" if client else "the contract"
        if named:
            return named if entity in ("contact", "opportunity") else f"the {entity} {named}"
        if isinstance(record_id, str) and record_id in self.ctx.utterance:
            return f"{entity} {record_id}"
        return f"the {entity}"


def details(view: ReplyView, phrases: Sequence[tuple[str, Callable[[str], str]]]) -> list[str]:
    """One phrase per fact present, in the order given, then any other fact."""
    out = [make(view.text(label)) for label, make in phrases if view.has(label)]
    return out + view.rest()


def with_probability(value: str) -> str:
    return f"with {article(value)} {value} probability"
