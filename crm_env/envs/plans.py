"""What ``CrmEnv`` computes once per conversation and turn (plans), and its JSON helpers."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from crm_env.datasets.format import Conversation, Turn, references_in
from crm_env.schema.enums import Entity


@dataclass(slots=True)
class TurnPlan:
    """What a turn needs at run time that does not depend on the episode, computed once.

    The ``*_refs`` flags say which parts hold ``{{turn_N.field}}`` references and so must be resolved
    per episode; parts without references are used as they are (resolving them is the identity).
    """

    turn: Turn
    is_write: bool  # turn.is_write
    read_request: bool  # a valid request that writes nothing: scored on what the agent retrieved
    utterance_refs: bool
    calls_refs: bool
    facts_refs: bool
    gold_calls: tuple[tuple[str, dict[str, Any]], ...]
    facts: list[Any] | None  # the reply facts' values; None when the turn has no facts
    reference: bytes | None  # the frozen reference (``frozen_reference``) when it needs no resolving
    reference_base: dict[str, Any] | None  # else the JSON-normalised reference but for its gold calls

    @classmethod
    def build(cls, turn: Turn) -> TurnPlan:
        gold_calls = tuple((c.tool, c.arguments) for c in turn.gold_calls)
        calls_refs = any(c.has_references for c in turn.gold_calls)
        facts = [f.value for f in turn.reply_facts] if turn.reply_facts else None
        return cls(
            turn=turn,
            is_write=turn.is_write,
            read_request=turn.expect_success and not turn.is_write,
            utterance_refs=bool(references_in(turn.utterance)),
            calls_refs=calls_refs,
            facts_refs=bool(facts and references_in(facts)),
            gold_calls=gold_calls,
            facts=facts,
            reference=None if calls_refs else frozen_reference(turn, gold_calls),
            reference_base=json.loads(encode(reference(turn, ()))) if calls_refs else None,
        )


@dataclass(slots=True)
class ConversationPlan:
    """Per conversation: its turns' plans, the turns later turns refer to, the initial state views."""

    conversation: Conversation
    turns: list[TurnPlan]
    referenced: frozenset[int]
    counts: dict[str, int]
    full_state: str | None = None  # the "full" view of the initial state, filled on first use

    @classmethod
    def build(cls, conv: Conversation) -> ConversationPlan:
        seed = conv.initial_seed()
        return cls(
            conversation=conv,
            turns=[TurnPlan.build(t) for t in conv.turns],
            referenced=conv.referenced_turns,
            counts={e.value: len(seed.records.get(e, ())) for e in Entity},
        )


def frozen_reference(turn: Turn, gold_calls: Sequence[tuple[str, dict[str, Any]]]) -> bytes:
    """The turn's reference as JSON gives it back (non-JSON values as text), pickled: ``pickle.loads``
    is the cheapest way to hand out a fresh deep copy per step."""
    return pickle.dumps(json.loads(encode(reference(turn, gold_calls))), protocol=pickle.HIGHEST_PROTOCOL)


def json_encoder(default: Callable[[Any], Any]) -> Callable[[Any], str]:
    """``json.JSONEncoder(default=default).encode``, calling the C encoder directly: ``encode`` builds
    the very same encoder (with its own circular-reference markers) per call, plus Python-level
    overhead. Falls back to ``encode`` where the C encoder is missing."""
    make = json.encoder.c_make_encoder
    if make is None:
        return json.JSONEncoder(default=default).encode
    text = json.encoder.encode_basestring_ascii

    def encode(value: Any) -> str:
        return "".join(make({}, default, text, None, ": ", ", ", False, False, True)(value, 0))

    return encode


encode = json_encoder(str)  # json.dumps(value, default=str)
dumps = json_encoder(json.JSONEncoder().default)  # json.dumps(value)
json_text = json.encoder.encode_basestring_ascii  # json.dumps(text) for a str


def reference(turn: Turn, gold_calls: Sequence[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    return {
        "turn_id": turn.turn_id,
        "intent": turn.intent.value,
        "gold_calls": reference_calls(gold_calls),
        "expect_success": turn.expect_success,
        "expected_error": turn.expected_error,
        "failure_category": turn.failure_category.value if turn.failure_category else None,
        "reply_facts": [{"label": f.label, "value": f.value} for f in turn.reply_facts],
    }


def reference_calls(gold_calls: Sequence[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    return [{"tool": t, "arguments": a} for t, a in gold_calls]


def jsonable(value: Any) -> Any:
    try:
        return json.loads(json.dumps(value, default=str))
    except (TypeError, ValueError):
        return repr(value)
