"""The conversation format (version 1): one validated JSON object per line.

A conversation is one episode: a CRM state at a frozen clock, then user turns. Each turn names the
gold tool call(s) that carry it out, whether the request must succeed or be refused (and with which
error kind), and the facts a correct reply states.

Cross-turn references ``{{turn_N.field}}`` may appear in gold arguments and in utterances. They
resolve at run time against what turn N actually produced in that episode (see ``bindings_from``),
so an agent's own created ids flow into later turns.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from crm_env.datasets.intents import TaskIntent, Workflow
from crm_env.errors import TOOL_ERROR_KINDS
from crm_env.schema.clock import Clock
from crm_env.schema.enums import ToolKind
from crm_env.schema.seed import Seed, build_seed
from crm_env.tools import get_spec

FORMAT_VERSION = 1
REFERENCE = re.compile(r"\{\{turn_(\d+)\.([A-Za-z_][A-Za-z0-9_]*)\}\}")
COMPLEXITY_TURNS: dict[str, tuple[int, int]] = {"simple": (1, 3), "medium": (4, 6), "complex": (7, 10)}


class Complexity(StrEnum):
    SIMPLE = "simple"
    MEDIUM = "medium"
    COMPLEX = "complex"


class FailureCategory(StrEnum):
    """Why a request must be refused: the failure taxonomy of negative turns."""

    ENUM_CASING = "enum_casing"
    UNKNOWN_ID = "unknown_id"
    MALFORMED_ID = "malformed_id"
    MISSING_FIELD = "missing_field"
    AMOUNT_BOUNDS = "amount_bounds"
    PROBABILITY_BOUNDS = "probability_bounds"
    DATE_BOUNDS = "date_bounds"
    DUPLICATE_EMAIL = "duplicate_email"
    CLOSED_DEAL_EDIT = "closed_deal_edit"
    BAD_DOCUMENT_NAME = "bad_document_name"


ErrorKind = Literal[TOOL_ERROR_KINDS]  # type: ignore[valid-type]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GoldCall(_Strict):
    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)

    @cached_property
    def has_references(self) -> bool:
        """Whether the arguments hold ``{{turn_N.field}}`` references (then they need resolving)."""
        return bool(references_in(self.arguments))


class ReplyFact(_Strict):
    """Something a correct reply must state, e.g. label "total_amount", value 250000."""

    label: str
    value: str | int | float


class Turn(_Strict):
    turn_id: int = Field(ge=1)
    intent: TaskIntent
    utterance: str = Field(min_length=1)
    gold_calls: list[GoldCall] = Field(min_length=1)
    expect_success: bool = True
    expected_error: ErrorKind | None = None
    failure_category: FailureCategory | None = None
    reply_facts: list[ReplyFact] = Field(default_factory=list)

    @model_validator(mode="after")
    def _outcome(self) -> Turn:
        if self.expect_success and (self.expected_error or self.failure_category):
            raise ValueError("a turn that must succeed has no expected_error or failure_category")
        if not self.expect_success and not (self.expected_error and self.failure_category):
            raise ValueError("a turn that must be refused names its expected_error and failure_category")
        return self

    @property
    def is_write(self) -> bool:
        return any(get_spec(call.tool).kind is ToolKind.WRITE for call in self.gold_calls)


class Conversation(_Strict):
    format_version: Literal[1] = FORMAT_VERSION
    conversation_id: str = Field(min_length=1)
    workflow: Workflow
    complexity: Complexity
    as_of: datetime
    initial_records: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    turns: list[Turn] = Field(min_length=1, max_length=10)

    def initial_seed(self) -> Seed:
        """The initial records, checked once and cached: reseeding an episode is then only a copy.

        Raises:
            SeedError: The initial records are invalid.
        """
        return self._checked_seed

    @cached_property
    def referenced_turns(self) -> frozenset[int]:
        """The turns whose results later turns refer to (in utterances, gold arguments or reply facts)."""
        found = references_in(
            [[t.utterance, [c.arguments for c in t.gold_calls], [f.value for f in t.reply_facts]] for t in self.turns]
        )
        return frozenset(turn for turn, _ in found)

    @cached_property
    def _checked_seed(self) -> Seed:
        # A cached_property lives in the instance __dict__, outside the fields: equality and dumps
        # stay field-based.
        return build_seed(self.initial_records, Clock.at(self.as_of))

    @model_validator(mode="after")
    def _shape(self) -> Conversation:
        low, high = COMPLEXITY_TURNS[self.complexity]
        if not low <= len(self.turns) <= high:
            raise ValueError(f"a {self.complexity} conversation has {low} to {high} turns, not {len(self.turns)}")
        if [t.turn_id for t in self.turns] != list(range(1, len(self.turns) + 1)):
            raise ValueError("turn_id must run 1, 2, 3, ... in order")
        for turn in self.turns:
            for ref_turn, _ in references_in([turn.utterance, [c.arguments for c in turn.gold_calls]]):
                if ref_turn >= turn.turn_id:
                    raise ValueError(f"turn {turn.turn_id} refers to turn {ref_turn}, which has not happened yet")
        return self


def references_in(value: Any) -> list[tuple[int, str]]:
    """Every ``{{turn_N.field}}`` inside a value (strings, lists, dicts), in order."""
    if isinstance(value, str):
        return [(int(n), field) for n, field in REFERENCE.findall(value)]
    if isinstance(value, Mapping):
        return [ref for v in value.values() for ref in references_in(v)]
    if isinstance(value, list | tuple):
        return [ref for v in value for ref in references_in(v)]
    return []


class UnresolvedReference(LookupError):
    """A ``{{turn_N.field}}`` whose turn produced no such field in this episode."""


def resolve(value: Any, bindings: Mapping[int, Mapping[str, Any]], missing: Literal["raise", "keep"] = "raise") -> Any:
    """Replace references by what earlier turns produced.

    A string that is exactly one reference becomes the bound value itself (keeping its type);
    references inside longer text are substituted as text.

    Args:
        value: A string, or lists / dicts of them (other values are returned as they are).
        bindings: Per turn number, the fields that turn produced (``bindings_from``).
        missing: ``"raise"`` (default) raises on a reference that cannot be resolved; ``"keep"``
            leaves it as written (the environment does this: an agent's earlier mistake must not
            crash a later turn).

    Raises:
        UnresolvedReference: A referenced turn or field is unknown and ``missing`` is ``"raise"``.
    """
    if missing not in ("raise", "keep"):
        raise ValueError(f"missing={missing!r}: use 'raise' or 'keep'")
    return _resolve(value, bindings, missing == "keep")


def _resolve(value: Any, bindings: Mapping[int, Mapping[str, Any]], keep: bool) -> Any:
    if isinstance(value, str):
        if "{{" not in value:
            return value
        whole = REFERENCE.fullmatch(value)
        if whole:
            return _lookup(bindings, int(whole.group(1)), whole.group(2), value if keep else _RAISE)
        return REFERENCE.sub(
            lambda m: str(_lookup(bindings, int(m.group(1)), m.group(2), m.group(0) if keep else _RAISE)), value
        )
    if isinstance(value, Mapping):
        return {k: _resolve(v, bindings, keep) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, bindings, keep) for v in value]
    return value


_RAISE = object()


def _lookup(bindings: Mapping[int, Mapping[str, Any]], turn: int, field: str, default: Any) -> Any:
    try:
        return bindings[turn][field]
    except KeyError:
        if default is not _RAISE:
            return default
        raise UnresolvedReference(f"{{{{turn_{turn}.{field}}}}} cannot be resolved in this episode") from None


def _is_record(value: Any) -> bool:
    return isinstance(value, Mapping) and any(isinstance(k, str) and k.endswith("_id") for k in value)


def bindings_from(results: list[Any]) -> dict[str, Any]:
    """The fields a turn exposes to later turns, from its successful calls' result data.

    From each result in order: the record itself, the first record of a search's ``results``, and
    records nested one level down (e.g. ``opportunity`` in a details view). The first value of a
    field wins, so a turn's primary record outranks what it merely looked at.
    """
    fields: dict[str, Any] = {}
    for data in results:
        if not isinstance(data, Mapping):
            continue
        candidates = [data] if _is_record(data) else []
        page = data.get("results")
        if isinstance(page, list) and page and _is_record(page[0]):
            candidates.append(page[0])
        candidates.extend(v for v in data.values() if _is_record(v))
        for record in candidates:
            for key, value in record.items():
                fields.setdefault(key, value)
    return fields
