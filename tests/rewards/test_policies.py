"""Whole-episode policies through ``gym.make("ArcCrm-v0")`` and ``step`` only (judge off): replies that game
the reward by wording score at most 5 % of the turns they spoil; the oracle's plain English, refusals
included, at least 95 %. Each policy makes the gold calls (``reveal_reference=True``) and differs only in
what it replies.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import pytest

import crm_env  # noqa: F401  (registers ArcCrm-v0)
from crm_env.envs.oracle import oracle_reply
from crm_env.schema.enums import ToolKind
from crm_env.tools import get_spec
from tests.envs.helpers import datasets_available

CONVERSATIONS = 400  # all of eval-400
Reply = Callable[[dict[str, Any], list[str], list[dict[str, Any]], list[Any]], str]

pytestmark = pytest.mark.skipif(not datasets_available(), reason="the packaged eval-400 split is not available")


def _is_write(reference: dict[str, Any]) -> bool:
    return any(get_spec(c["tool"]).kind is ToolKind.WRITE for c in reference["gold_calls"])


def _scalars(data: Any, out: list[Any]) -> None:
    if isinstance(data, dict):
        for value in data.values():
            _scalars(value, out)
    elif isinstance(data, list):
        for value in data:
            _scalars(value, out)
    elif isinstance(data, str | int | float) and not isinstance(data, bool):
        out.append(data)


def _say(value: Any) -> str:
    return f"${value:,.0f}" if isinstance(value, int | float) and value >= 1000 else str(value)


Turn = tuple[dict[str, Any], bool, int]
FOREIGN = 12  # a dump "spoils" a read turn when it carries this many values the turn's results did not show


def play(reply: Reply) -> list[Turn]:
    """Every turn of the first ``CONVERSATIONS`` of eval-400: (the turn's reference, turn success, how many
    distinct values seen earlier in the episode this turn's results did not show)."""
    env = gym.make("ArcCrm-v0", reveal_reference=True)
    turns = []
    try:
        for conversation in env.unwrapped.conversations[:CONVERSATIONS]:
            obs, info = env.reset(seed=0, options={"conversation_id": conversation.conversation_id})
            seen: list[Any] = []
            while True:
                reference = info["reference"]
                errors: list[str] = []
                results: list[dict[str, Any]] = []
                earlier, shown = {str(v) for v in seen}, []
                for call in reference["gold_calls"]:
                    obs, _, _, _, info = env.step(json.dumps(call))
                    result = json.loads(obs["last_result"])
                    results.append(result)
                    if result.get("ok"):
                        _scalars(result.get("data"), shown)
                    else:
                        errors.append(result.get("error", ""))
                seen += shown
                text = reply(reference, errors, results, seen)
                obs, _, terminated, truncated, info = env.step(json.dumps({"respond": text}))
                turns.append((reference, bool(info["turn_success"]), len(earlier - {str(v) for v in shown})))
                if terminated or truncated:
                    break
    finally:
        env.close()
    return turns


Spoiled = Callable[[dict[str, Any], int], bool]


def _rate(turns: list[Turn], spoiled: Spoiled) -> tuple[float, int]:
    scored = [ok for reference, ok, foreign in turns if spoiled(reference, foreign)]
    assert scored, "no turn of this kind was played"
    return sum(scored) / len(scored), len(scored)


def _succeeds(reference: dict[str, Any], foreign: int = 0) -> bool:
    return reference["expect_success"]


def _must_refuse(reference: dict[str, Any], foreign: int = 0) -> bool:
    return not reference["expect_success"]


def _dumped_read(reference: dict[str, Any], foreign: int) -> bool:
    """A read turn with facts, where a dump of the episode so far carries much the turn did not show."""
    return reference["expect_success"] and not _is_write(reference) and bool(reference["reply_facts"]) \
        and foreign >= FOREIGN


def _with_facts(reference: dict[str, Any], foreign: int = 0) -> bool:
    return reference["expect_success"] and bool(reference["reply_facts"])


GAMING: dict[str, tuple[Reply, Spoiled]] = {
    # right actions, but every reply says the work failed
    "lies about the outcome": (
        lambda ref, errors, results, seen: "Sorry, I couldn't do that: the CRM rejected the request, so nothing "
                                           "was changed or looked up.", _succeeds),
    # right reads, every expected fact denied
    "negates the facts": (
        lambda ref, errors, results, seen: " ".join(f"It is not {_say(f['value'])}." for f in ref["reply_facts"]),
        _with_facts),
    # every value seen in the episode, so that whatever was asked is in there somewhere
    "dumps everything seen": (
        lambda ref, errors, results, seen: "Here is everything: " + ", ".join(_say(v) for v in dict.fromkeys(seen)),
        _dumped_read),
    # a success claim on a must-refuse turn, stuffed with the old checker's refusal words
    "claims success on must-refuse turns": (
        lambda ref, errors, results, seen: "Done: the update went through. It only took a moment, there was no "
                                           "error, and the value is now between the old ones.", _must_refuse),
    "replies with nothing": (lambda ref, errors, results, seen: "", lambda ref, foreign: True),
}


@pytest.fixture(scope="module")
def oracle_turns() -> list[Turn]:
    return play(lambda ref, errors, results, seen: oracle_reply(ref, errors, results))


@pytest.mark.parametrize("name", GAMING)
def test_replies_that_game_the_wording_score_at_most_5_percent(name: str) -> None:
    reply, spoiled = GAMING[name]
    rate, n = _rate(play(reply), spoiled)
    assert n >= 20 and rate <= 0.05, f"{name}: {rate:.1%} of {n} turns scored as success"


@pytest.mark.parametrize(("group", "spoiled"), [("all turns", lambda ref, foreign: True),
                                                ("must-refuse turns", _must_refuse)])
def test_plain_english_replies_and_refusals_score_at_least_95_percent(oracle_turns: list[Turn], group: str,
                                                                     spoiled: Spoiled) -> None:
    rate, n = _rate(oracle_turns, spoiled)
    assert n >= 20 and rate >= 0.95, f"{group}: {rate:.1%} of {n} turns"
