"""LLM runs against the fake provider servers (127.0.0.1 only): correct answers score like the oracle;
an outage mid-run becomes infrastructure failures; a resume completes them."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path

import pytest

from crm_env.agents import RetryPolicy, build_agent
from crm_env.agents.replay import ReplayAgent
from crm_env.datasets import dump, load
from crm_env.eval.config import RunConfig
from crm_env.eval.job import run_eval
from crm_env.eval.results import load_results
from tests.eval.helpers import correct_behaviour

providers = pytest.importorskip("tests.fakes.providers")


def _factory(config: RunConfig, provider: "providers.FakeProvider"):
    def make(conv, trial, seed):
        return build_agent(config.agent, model=config.model, base_url=provider.url,
                           seed=seed, timeout=5.0, retry=RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02))
    return make


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_llm_run_with_outage_then_resume(tmp_path: Path, kind: str) -> None:
    convs = load("arc-crm-1200", split="eval-400")[:12]
    data = dump(convs, tmp_path / "convs.jsonl")
    model = "gpt-4.1-mini" if kind == "openai" else "claude-haiku-4-5"
    with providers.FakeProvider(kind, model=model) as provider:
        correct = correct_behaviour(provider, convs)
        state = {"served": 0, "down": False}
        lock = threading.Lock()

        def behaviour(body):
            with lock:
                state["served"] += 1
                if state["served"] > 40:
                    state["down"] = True
                down = state["down"]
            if down:
                return 503, {}, {"error": {"message": "overloaded", "type": "overloaded_error"}}
            return correct(body)

        provider.default = behaviour
        agent = "openai" if kind == "openai" else "claude"
        config = RunConfig(conversations=str(data), split=None, output=str(tmp_path / "run"), agent=agent,
                           model=model, base_url=provider.url, progress=False,
                           concurrency=4)
        first = run_eval(config, agent_factory=_factory(config, provider), out=io.StringIO())
        assert first["episodes"]["infra_errors"] > 0
        assert first["episodes"]["completed"] + first["episodes"]["infra_errors"] == 12
        assert all("Error" in f["cause"] for f in first["infra_failures"])
        if first["episodes"]["completed"]:
            assert first["strict_success"]["value"] == 1.0  # the failures are excluded, not scored
        state["down"], state["served"] = False, -10**9  # the provider is back
        second = run_eval(config, resume=True, given={"output": str(tmp_path / "run")},
                          agent_factory=_factory(config, provider), out=io.StringIO())
    assert second["episodes"]["completed"] == 12 and second["episodes"]["infra_errors"] == 0
    assert second["strict_success"]["value"] == 1.0
    agent_usage = second["usage"]["by_role"]["agent"]
    assert agent_usage["calls"] > 0 and agent_usage["input_tokens"] > 0 and agent_usage["cost_usd"] > 0
    assert second["latency_s"]["llm_call"]["n"] == agent_usage["calls"]
    loaded = load_results(tmp_path / "run" / "results.jsonl")
    assert len(loaded.lines) == 12 and loaded.duplicates == 0
    assert any(line.infra_history for line in loaded.lines.values())


class _Paraphrasing(ReplayAgent):
    """The oracle's calls with a vague reply: the reply check cannot decide, so the judge is consulted."""

    def act(self, observation):
        action = json.loads(super().act(observation))
        return json.dumps({"respond": "Done, as you asked."} if "respond" in action else action)


def test_judge_calls_are_recorded_per_turn_and_role(tmp_path: Path) -> None:
    convs = load("arc-crm-1200", split="eval-400")[:4]
    data = dump(convs, tmp_path / "convs.jsonl")
    with providers.FakeProvider("openai", model="gpt-4.1-mini") as judge:
        judge.default = lambda body: (200, {}, judge._answer({"respond": '{"goal": 1, "process": 1}'}))
        config = RunConfig(conversations=str(data), split=None, output=str(tmp_path / "run"), agent="replay",
                           progress=False, judge=True, judge_model=f"openai:gpt-4.1-mini@{judge.url}")
        summary = run_eval(config, agent_factory=lambda c, t, s: _Paraphrasing([c]), out=io.StringIO())
    calls = [call for line in load_results(tmp_path / "run" / "results.jsonl").lines.values()
             for turn in line.turns for call in turn.judge_calls]
    assert 0 < len(calls) == len(judge.requests)  # every request the judge made, on the turn it graded
    assert all(c.role == "judge" and c.provider == "openai" and c.model == "gpt-4.1-mini" for c in calls)
    assert {(c.input_tokens, c.output_tokens, c.cached_tokens, c.attempts) for c in calls} == {(1200, 40, 1000, 1)}
    assert summary["usage"]["by_role"]["judge"]["calls"] == len(calls)
