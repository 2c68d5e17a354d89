"""Whole-episode policies through ``gym.make("ArcCrm-v0")`` and ``step`` only (judge off): replies that game
the reward by wording, or carry one wrong value, score at most 5 % of the turns they spoil; the oracle's
plain English (refusals included), also restyled (British dates, "USD 1.2 million", bullets in lower case),
at least 95 %. Each policy makes the gold calls (``reveal_reference=True``) and differs only in what it replies.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import pytest

import crm_env  # noqa: F401  (registers ArcCrm-v0)
from crm_env.envs.oracle import oracle_reply
from crm_env.rewards.audit.play import scalars
from crm_env.rewards.audit.wording import british_dates, bulleted, digit_off, other_status, say, usd_words
from crm_env.schema.enums import ToolKind
from crm_env.tools import get_spec
from tests.envs.helpers import datasets_available

CONVERSATIONS = 400  # all of eval-400
Reply = Callable[[dict[str, Any], list[str], list[dict[str, Any]], list[Any]], str]

pytestmark = pytest.mark.skipif(not datasets_available(), reason="the packaged eval-400 split is not available")


def _is_write(reference: dict[str, Any]) -> bool:
    return any(get_spec(c["tool"]).kind is ToolKind.WRITE for c in reference["gold_calls"])


Turn = tuple[dict[str, Any], bool, int, bool]
FOREIGN = 12  # a dump "spoils" a read turn when it carries this many values the turn's results did not show


def play(reply: Reply) -> list[Turn]:
    """Every turn of the first ``CONVERSATIONS`` of eval-400: (the turn's reference, turn success, how many
    distinct values seen earlier in the episode this turn's results did not show, whether the reply differs
    from the oracle's)."""
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
                        scalars(result.get("data"), shown)
                    else:
                        errors.append(result.get("error", ""))
                seen += shown
                text = reply(reference, errors, results, seen)
                changed = text != oracle_reply(reference, errors, results)
                obs, _, terminated, truncated, info = env.step(json.dumps({"respond": text}))
                turns.append((reference, bool(info["turn_success"]), len(earlier - {str(v) for v in shown}), changed))
                if terminated or truncated:
                    break
    finally:
        env.close()
    return turns


Spoiled = Callable[[dict[str, Any], int], bool]


def _rate(turns: list[Turn], spoiled: Spoiled) -> tuple[float, int]:
    scored = [ok for reference, ok, foreign, changed in turns if spoiled(reference, foreign) and changed]
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
        lambda ref, errors, results, seen: " ".join(f"It is not {say(f['value'])}." for f in ref["reply_facts"]),
        _with_facts),
    # every value seen in the episode, so that whatever was asked is in there somewhere
    "dumps everything seen": (
        lambda ref, errors, results, seen: "Here is everything: " + ", ".join(say(v) for v in dict.fromkeys(seen)),
        _dumped_read),
    # a success claim on a must-refuse turn, stuffed with the old checker's refusal words
    "claims success on must-refuse turns": (
        lambda ref, errors, results, seen: "Done: the update went through. It only took a moment, there was no "
                                           "error, and the value is now between the old ones.", _must_refuse),
    "replies with nothing": (lambda ref, errors, results, seen: "", lambda ref, foreign: True),
}


def _oracle(style: Callable[[str], str]) -> Reply:
    return lambda ref, errors, results, seen: style(oracle_reply(ref, errors, results))


RESTYLED = {"British dates": british_dates, "USD millions and dollars": usd_words,
            "bulleted, lower case": lambda text: bulleted(text, lower=True)}
SUBTLY_WRONG = {"an amount one digit off": digit_off, "another stage or status": other_status}


@pytest.mark.parametrize("name", RESTYLED)
def test_the_oracle_restyled_still_scores_at_least_95_percent(name: str) -> None:
    rate, n = _rate(play(_oracle(RESTYLED[name])), lambda ref, foreign: True)
    assert n >= 200 and rate >= 0.95, f"{name}: {rate:.1%} of {n} restyled turns"


@pytest.mark.parametrize("name", SUBTLY_WRONG)
def test_one_wrong_value_in_the_oracle_reply_scores_at_most_5_percent(name: str) -> None:
    rate, n = _rate(play(_oracle(SUBTLY_WRONG[name])), lambda ref, foreign: True)
    assert n >= 200 and rate <= 0.05, f"{name}: {rate:.1%} of {n} altered turns scored as success"


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
    rate, n = _rate([(ref, ok, foreign, True) for ref, ok, foreign, _ in oracle_turns], spoiled)
    assert n >= 20 and rate >= 0.95, f"{group}: {rate:.1%} of {n} turns"
