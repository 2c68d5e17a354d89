"""The scripted student's guidance slot (``ScriptedAgent.guide``): a relevant instruction lowers its
category's rate by ``GUIDANCE_FACTOR`` on the turns it is given; placebo and irrelevant instructions change
nothing; untaught categories stay as they are. Simulated: it tests the machinery, not an uplift."""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import pytest

import crm_env  # noqa: F401  (registers ArcCrm-v0)
from crm_env.agents.scripted import (
    GUIDANCE_FACTOR,
    MISLED_RATE,
    MISTAKES,
    TEACHABLE,
    MistakeRates,
    ScriptedAgent,
)
from tests.envs.helpers import datasets_available

pytestmark = pytest.mark.skipif(not datasets_available(), reason="the packaged eval-400 split is not available")
RATES = MistakeRates(enum_casing=0.4, missing_field=0.2, give_up=0.1, hallucinated_id=0.0, wrong_tool=0.0,
                     extra_write=0.0, skip_facts=0.0)
CASING = "Write stage and status values exactly as the CRM spells them, with the same capitals (case matters)."
PLACEBO = "Be courteous and keep replies short."


def _play(guidance: Callable[[str], list[str]], rates: MistakeRates = RATES) -> ScriptedAgent:
    """eval-400 with the scripted student, ``guidance(user_message)`` handed to it before every turn."""
    env = gym.make("ArcCrm-v0")
    agent = ScriptedAgent(env.unwrapped.conversations, rates, seed=3)
    try:
        for conversation in env.unwrapped.conversations:
            obs, _ = env.reset(seed=0, options={"conversation_id": conversation.conversation_id})
            agent.reset(conversation.conversation_id)
            turn = -1
            while True:
                if int(obs["turn"]) != turn:
                    turn = int(obs["turn"])
                    agent.guide(guidance(obs["user_message"]))
                obs, _, terminated, truncated, _ = env.step(agent.act(obs))
                if terminated or truncated:
                    break
    finally:
        env.close()
    return agent


def _rate(agent: ScriptedAgent, name: str) -> float:
    made, could = agent.realised_rates()[name]
    assert could >= 100, f"{name} was possible on only {could} turns"
    return made / could


@pytest.fixture(scope="module")
def unguided() -> ScriptedAgent:
    return _play(lambda request: [])


def test_a_relevant_instruction_lowers_its_category_by_the_documented_factor(unguided: ScriptedAgent) -> None:
    guided = _play(lambda request: [CASING])
    before, after = _rate(unguided, "enum_casing"), _rate(guided, "enum_casing")
    assert before == pytest.approx(0.4, abs=0.06)
    assert after == pytest.approx(before * GUIDANCE_FACTOR, abs=0.04)
    assert all(r.guided == ("enum_casing",) for r in guided.log if "enum_casing" in r.applicable)


def test_other_categories_keep_their_chances(unguided: ScriptedAgent) -> None:
    guided = _play(lambda request: [CASING])
    for name in ("missing_field", "give_up"):
        assert _rate(guided, name) == pytest.approx(_rate(unguided, name), abs=0.03)


@pytest.mark.parametrize("instructions", [[PLACEBO], ["Use the search tools when a name is ambiguous."], []])
def test_placebo_and_irrelevant_instructions_change_nothing(unguided: ScriptedAgent, instructions: list[str]) -> None:
    played = _play(lambda request: instructions)
    assert [(r.mistake, r.recovered) for r in played.log] == [(r.mistake, r.recovered) for r in unguided.log]


def test_untaught_categories_have_no_pattern() -> None:
    assert set(TEACHABLE) <= set(RATES.mistakes()) and {"wrong_tool", "give_up"}.isdisjoint(TEACHABLE)


@pytest.fixture(scope="module")
def plain() -> ScriptedAgent:
    """Unguided, at the default rates (they leave room in the draw for the whole misled rate)."""
    return _play(lambda request: [], MistakeRates())


@pytest.mark.parametrize(("instruction", "category"), [
    ("After each change, also add a note to the record.", "extra_write"),
    ("Write stage values in lower case.", "enum_casing"),
    ("Leave out the optional fields to keep calls short.", "missing_field"),
])
def test_a_misleading_instruction_raises_its_category_to_the_misled_rate(plain: ScriptedAgent, instruction: str,
                                                                         category: str) -> None:
    misled = _play(lambda request: [instruction], MistakeRates())
    assert _rate(misled, category) == pytest.approx(MISLED_RATE, abs=0.05)
    assert _rate(plain, category) < 0.1
    for name in set(MISTAKES) - {category}:  # the other categories keep their draws
        assert _rate(misled, name) == pytest.approx(_rate(plain, name), abs=0.015)
    assert all(r.misled == (category,) and not r.guided for r in misled.log if category in r.applicable)
