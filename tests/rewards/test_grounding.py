"""Retrieval by grounding (``crm_env.rewards.grounding``) through ``gym.make("ArcCrm-v0")`` and ``step``:
a read answered from another valid read tool passes; figures and records that never reached the agent fail."""

from __future__ import annotations

import json
from typing import Any

import gymnasium as gym
import pytest

import crm_env  # noqa: F401  (registers ArcCrm-v0)
from crm_env.envs.oracle import oracle_reply
from crm_env.rewards.grounding import Seen, aggregates, derivable
from tests.envs.helpers import datasets_available

pytestmark = pytest.mark.skipif(not datasets_available(), reason="the packaged eval-400 split is not available")
SUMMARY = "SUMMARIZE OPPORTUNITIES"


def _summary_turns(instead: Any) -> list[dict[str, Any]]:
    """Every summary turn of eval-400 played with ``instead(reference)``'s calls and the oracle's reply;
    earlier turns as the oracle plays them."""
    env = gym.make("ArcCrm-v0", reveal_reference=True)
    out = []
    try:
        for conversation in env.unwrapped.conversations:
            if not any(t.intent.value == SUMMARY for t in conversation.turns):
                continue
            obs, info = env.reset(seed=0, options={"conversation_id": conversation.conversation_id})
            while True:
                reference = info["reference"]
                calls = instead(reference) if reference["intent"] == SUMMARY else reference["gold_calls"]
                results = []
                for call in calls:
                    obs, _, _, _, info = env.step(json.dumps(call))
                    results.append(json.loads(obs["last_result"]))
                errors = [r["error"] for r in results if r.get("ok") is False]
                obs, _, terminated, _, info = env.step(json.dumps({"respond": oracle_reply(reference, errors, results)}))
                if reference["intent"] == SUMMARY:
                    out.append(info["reward_breakdown"])
                if terminated:
                    break
    finally:
        env.close()
    return out


def _search_instead(reference: dict[str, Any]) -> list[dict[str, Any]]:
    arguments = reference["gold_calls"][0]["arguments"]
    return [{"tool": "opportunity_search", "arguments": {**arguments, "limit": 100}}]


def test_a_summary_computed_from_a_search_passes_retrieval() -> None:
    breakdowns = _summary_turns(_search_instead)
    assert len(breakdowns) >= 10
    failing = [b["retrieval"]["rationale"] for b in breakdowns if b["retrieval"]["status"] != "pass"]
    assert not failing, failing[:3]


def test_summary_figures_never_shown_fail_retrieval_and_name_the_figures() -> None:
    breakdowns = _summary_turns(lambda reference: [])
    assert len(breakdowns) >= 10
    failed = [b["retrieval"] for b in breakdowns if b["retrieval"]["status"] == "fail"]
    assert len(failed) >= 0.9 * len(breakdowns)  # a figure may equal one shown earlier (one deal's amount)
    assert all("never shown" in r["rationale"] and r["details"]["missing"] for r in failed)


def test_records_seen_only_as_foreign_keys_are_not_retrieved() -> None:
    seen = Seen()
    seen.add({"results": [{"quote_id": "q-1", "opportunity_id": "o-1", "amount": 10.0}], "total": 1})
    assert seen.ids == {"q-1"}
    seen.add({"opportunity_id": "o-1", "name": "Deal", "amount": 20.0})
    assert seen.ids == {"q-1", "o-1"}


def test_figures_follow_from_lists_and_their_stage_groups() -> None:
    rows = [{"opportunity_id": "a", "amount": 100.0, "probability": 50, "stage": "Proposal"},
            {"opportunity_id": "b", "amount": 300.0, "probability": 10, "stage": "Negotiation"}]
    assert aggregates(rows) == {2.0, 400.0, 200.0, 80.0}
    seen = Seen()
    seen.add({"results": rows, "total": 2})
    assert {1.0, 100.0, 300.0, 50.0, 30.0} <= derivable(seen)
    assert 123.0 not in derivable(seen)


def _opportunity_records(data: Any, into: set[str]) -> None:
    """Ids of whole opportunity records (a deal's own fields, not a quote's foreign key) in a result."""
    if isinstance(data, dict):
        if {"opportunity_id", "name", "stage"} <= data.keys():
            into.add(data["opportunity_id"])
        for value in data.values():
            _opportunity_records(value, into)
    elif isinstance(data, list):
        for value in data:
            _opportunity_records(value, into)


def test_a_deal_answered_without_reading_it_passes_only_if_it_came_back_earlier() -> None:
    """The agent skips the view and replies with the right facts: retrieval passes exactly when an earlier
    result held the deal itself (a quote's ``opportunity_id`` does not count)."""
    env = gym.make("ArcCrm-v0", reveal_reference=True)
    verdicts: list[tuple[bool, str]] = []
    try:
        for conversation in env.unwrapped.conversations:
            if not any(t.intent.value == "VIEW OPPORTUNITY DETAILS" for t in conversation.turns):
                continue
            obs, info = env.reset(seed=0, options={"conversation_id": conversation.conversation_id})
            shown: set[str] = set()
            while True:
                reference = info["reference"]
                skip = reference["intent"] == "VIEW OPPORTUNITY DETAILS" and reference["expect_success"]
                results = []
                for call in [] if skip else reference["gold_calls"]:
                    obs, _, _, _, info = env.step(json.dumps(call))
                    results.append(json.loads(obs["last_result"]))
                obs, _, terminated, _, info = env.step(json.dumps({"respond": oracle_reply(reference, [], results)}))
                if skip:
                    wanted = reference["gold_calls"][0]["arguments"]["opportunity_id"]
                    verdicts.append((wanted in shown, info["reward_breakdown"]["retrieval"]["status"]))
                for result in results:
                    _opportunity_records(result.get("data"), shown)
                if terminated:
                    break
    finally:
        env.close()
    assert sum(came_back for came_back, _ in verdicts) >= 3 and sum(not came_back for came_back, _ in verdicts) >= 3
    wrong = [(came_back, status) for came_back, status in verdicts if status != ("pass" if came_back else "fail")]
    assert not wrong, (wrong, len(verdicts))

