"""The replay (oracle) and scripted (fallible) agents, and the ``build_agent`` factory."""

from __future__ import annotations

import math

import pytest

from crm_env.agents import AGENT_KINDS, Agent, MistakeRates, ReplayAgent, ScriptedAgent, build_agent
from crm_env.agents.scripted import MISTAKES
from crm_env.errors import ConfigError
from tests.fakes.episodes import run_episode


def _play_all(env, agent, conversations):
    return [run_episode(env, agent, c.conversation_id) for c in conversations]


def test_replay_agent_scores_100_percent_strict_on_eval_400(env, eval400) -> None:
    agent = build_agent("replay", conversations=eval400)
    assert isinstance(agent, Agent) and agent.simulated
    results = _play_all(env, agent, eval400)
    failures = [r["conversation_id"] for r in results if not r["strict"]]
    assert not failures, failures[:5]
    assert sum(len(r["successes"]) for r in results) == sum(len(c.turns) for c in eval400)
    assert agent.drain_calls() == []


def test_replay_agent_needs_a_known_conversation(eval400) -> None:
    agent = ReplayAgent(eval400[:3])
    with pytest.raises(ConfigError):
        agent.reset(None)
    with pytest.raises(ConfigError):
        agent.reset(eval400[10].conversation_id)


def test_scripted_default_rates_give_about_80_percent_turn_success(env, eval400) -> None:
    results = _play_all(env, ScriptedAgent(eval400, seed=0), eval400)
    turns = [s for r in results for s in r["successes"]]
    rate = sum(turns) / len(turns)
    assert 0.75 <= rate <= 0.85, rate


def test_scripted_without_mistakes_is_the_oracle(env, eval400) -> None:
    results = _play_all(env, ScriptedAgent(eval400[:60], rates=MistakeRates.none(), seed=3), eval400[:60])
    assert all(r["strict"] for r in results)


def test_scripted_realised_rates_match_configuration(env, eval400) -> None:
    rates = MistakeRates(enum_casing=0.15, hallucinated_id=0.12, missing_field=0.1, wrong_tool=0.1,
                         extra_write=0.08, skip_facts=0.1, give_up=0.05, recover=0.4)
    agent = ScriptedAgent(eval400, rates=rates, seed=11)
    _play_all(env, agent, eval400)
    for name, (injected, opportunities) in agent.realised_rates().items():
        expected = getattr(rates, name)
        sigma = math.sqrt(expected * (1 - expected) / opportunities)
        assert opportunities > 300, name
        assert abs(injected / opportunities - expected) <= 4 * sigma, (name, injected, opportunities)
    recovered = [r.recovered for r in agent.log if r.recovered is not None]
    assert abs(sum(recovered) / len(recovered) - rates.recover) <= 4 * math.sqrt(0.24 / len(recovered))


def test_scripted_mistakes_fail_turns_and_show_in_the_env(env, eval400) -> None:
    agent = ScriptedAgent(eval400[:80], rates=MistakeRates(give_up=1.0, enum_casing=0, hallucinated_id=0,
                                                            missing_field=0, wrong_tool=0, extra_write=0,
                                                            skip_facts=0), seed=0)
    results = _play_all(env, agent, eval400[:80])
    assert not any(s for r in results for s in r["successes"])


def test_scripted_is_reproducible_per_seed_and_independent_of_order(env, eval400) -> None:
    subset = eval400[:120]

    def run(seed, conversations):
        agent = ScriptedAgent(subset, seed=seed)
        results = {r["conversation_id"]: r["successes"] for r in _play_all(env, agent, conversations)}
        return results, sorted((m.conversation_id, m.turn_id, m.mistake, m.recovered) for m in agent.log)

    first, log1 = run(5, subset)
    again, log2 = run(5, list(reversed(subset)))
    _other, log3 = run(6, subset)
    assert first == again and log1 == log2
    assert log1 != log3


def test_scripted_replays_of_one_conversation_draw_fresh_mistakes(eval400) -> None:
    agent = ScriptedAgent(eval400, seed=0)
    streams = []
    for _ in range(2):
        agent.reset(eval400[0].conversation_id)
        streams.append(agent._rng.random())
    assert streams[0] != streams[1]


def test_rates_are_validated() -> None:
    with pytest.raises(ConfigError):
        MistakeRates(give_up=1.5)
    with pytest.raises(ConfigError):
        MistakeRates(**dict.fromkeys(MISTAKES, 0.2))


def test_build_agent_kinds_and_errors(eval400, monkeypatch) -> None:
    assert AGENT_KINDS == ("replay", "scripted", "claude", "openai")
    assert isinstance(build_agent("replay", conversations=eval400), ReplayAgent)
    scripted = build_agent("scripted", conversations=eval400, seed=4, rates={"give_up": 0.2})
    assert isinstance(scripted, ScriptedAgent) and scripted.rates.give_up == 0.2 and scripted.seed == 4
    with pytest.raises(ConfigError):
        build_agent("scripted", conversations=eval400, rates={"nonsense": 0.1})
    with pytest.raises(ConfigError):
        build_agent("replay")
    with pytest.raises(ConfigError):
        build_agent("gemini")
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        build_agent("claude")
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        build_agent("openai")
    local = build_agent("openai", base_url="http://127.0.0.1:9/v1", model="llama3")  # a local server needs no key
    assert local.model == "llama3" and not local.simulated
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret-key")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-very-secret-key")
    for agent in (build_agent("openai"), build_agent("claude")):
        assert "secret" not in repr(agent) and "secret" not in str(vars(agent))
    assert build_agent("openai").model == "gpt-4.1"
    assert build_agent("openai", model="gpt-4.1-mini").model == "gpt-4.1-mini"
    assert build_agent("claude").model.startswith("claude-sonnet")
