"""Evaluation harness throughput against a fake OpenAI-compatible server with a fixed 100 ms latency.

The server (``tests.fakes.providers.FakeProvider`` with the stateless oracle behaviour of
``tests.eval.helpers``) runs in this process on 127.0.0.1; every request sleeps 100 ms, then answers
as the oracle would, so each episode makes the same requests at any concurrency. The openai agent
(``build_agent("openai", base_url=...)``) plays a seeded sample of ``SAMPLE`` eval-400 conversations
(about 5 turns and 2 requests per turn each): at concurrency 1 the full eval-400 would take ~7 minutes
of pure waiting, so the sample keeps the benchmark short; the ratio is what the target is about.

Figures: wall time at concurrency 1 and 32, their ratio (target ≥ 20×), and the harness's own CPU
time per turn (main thread: runner, agent, env and reward; the fake server's threads excluded).
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.timing import Figure

SAMPLE = 64
LATENCY_S = 0.1


def _run(concurrency: int, out: Path, provider, conversations) -> tuple[float, float, int]:
    from crm_env.agents import build_agent
    from crm_env.eval.config import RunConfig
    from crm_env.eval.job import run_eval

    config = RunConfig(agent="openai", model="gpt-4.1-mini", base_url=provider.url, sample=SAMPLE, seed=0,
                       concurrency=concurrency, output=str(out), progress=False)

    def factory(conv, trial, seed):
        return build_agent("openai", model=config.model, base_url=provider.url, seed=seed, timeout=30.0)

    wall, cpu = time.perf_counter(), time.thread_time()
    summary = run_eval(config, agent_factory=factory, out=io.StringIO())
    wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
    assert summary["episodes"]["completed"] == SAMPLE, summary["episodes"]  # every episode ran (no infra errors)
    return wall, cpu, summary["episodes"]["turns"]


def run() -> list[Figure]:
    root = Path(__file__).resolve().parents[1]
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from crm_env.datasets import load
    from tests.eval.helpers import correct_behaviour
    from tests.fakes.providers import FakeProvider

    conversations = load("arc-crm-1200", split="eval-400")
    with FakeProvider("openai", model="gpt-4.1-mini") as provider, tempfile.TemporaryDirectory() as tmp:
        provider.default = correct_behaviour(provider, conversations, latency=LATENCY_S)
        fast, fast_cpu, turns = _run(32, Path(tmp) / "c32", provider, conversations)
        slow, _, _ = _run(1, Path(tmp) / "c1", provider, conversations)
    return [
        Figure(f"eval wall time, openai agent, {SAMPLE} convs ({turns} turns), concurrency 1", slow, "s",
               higher_is_better=False),
        Figure(f"eval wall time, openai agent, {SAMPLE} convs, concurrency 32", fast, "s", higher_is_better=False),
        Figure("eval speed-up, concurrency 32 vs 1 (100 ms fake server)", slow / fast, "x", target=20.0),
        Figure("eval harness CPU per turn (runner + agent + env, concurrency 32)", 1e3 * fast_cpu / turns, "ms",
               higher_is_better=False),
    ]
