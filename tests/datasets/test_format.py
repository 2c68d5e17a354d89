"""The conversation format: validation, references, bindings."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from crm_env.datasets import Conversation, Turn, bindings_from, references_in, resolve
from crm_env.datasets.format import UnresolvedReference

CLIENT = "0b6f3c1e-9a4d-4e6f-8b7a-1c2d3e4f5a01"


def _turn(turn_id: int = 1, **extra) -> dict:
    return {"turn_id": turn_id, "intent": "CLIENT SEARCH", "utterance": "Find Acme.",
            "gold_calls": [{"tool": "client_search", "arguments": {"name": "Acme"}}], **extra}


def _conversation(turns: list[dict], complexity: str = "simple") -> dict:
    return {"conversation_id": "c1", "workflow": "Client Management", "complexity": complexity,
            "as_of": "2026-01-15T09:00:00Z", "turns": turns}


def test_valid_conversation_round_trips() -> None:
    conversation = Conversation.model_validate(_conversation([_turn()]))
    assert Conversation.model_validate_json(conversation.model_dump_json()) == conversation


@pytest.mark.parametrize(
    "change",
    [
        {"complexity": "medium"},  # 1 turn is not medium
        {"workflow": "Sales"},
        {"extra_field": 1},
        {"format_version": 2},
    ],
)
def test_invalid_conversations_are_rejected(change: dict) -> None:
    with pytest.raises(ValidationError):
        Conversation.model_validate({**_conversation([_turn()]), **change})


def test_negative_turn_needs_error_and_category() -> None:
    with pytest.raises(ValidationError):
        Turn.model_validate(_turn(expect_success=False))
    with pytest.raises(ValidationError):
        Turn.model_validate(_turn(expected_error="not_found"))
    turn = Turn.model_validate(_turn(expect_success=False, expected_error="not_found", failure_category="unknown_id"))
    assert not turn.expect_success


def test_forward_reference_is_rejected() -> None:
    bad = _turn(utterance="Open {{turn_2.client_id}}")
    with pytest.raises(ValidationError):
        Conversation.model_validate(_conversation([bad, _turn(2)]))


def test_references_resolve_and_bind() -> None:
    bindings = {1: bindings_from([{"client_id": CLIENT, "name": "Acme"}])}
    assert references_in({"a": ["{{turn_1.client_id}}"]}) == [(1, "client_id")]
    assert resolve({"client_id": "{{turn_1.client_id}}", "n": "x {{turn_1.name}}"}, bindings) == {
        "client_id": CLIENT, "n": "x Acme"}
    with pytest.raises(UnresolvedReference):
        resolve("{{turn_1.quote_id}}", bindings)


def test_initial_seed_is_cached() -> None:
    conversation = Conversation.model_validate(
        {**_conversation([_turn()]), "initial_records": {"Client": [{"client_id": CLIENT, "name": "Acme"}]}})
    assert conversation.initial_seed() is conversation.initial_seed()
    assert conversation.initial_seed().size == 1
