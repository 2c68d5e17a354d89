"""ArcCrm-v0 rollouts with the oracle policy through ``gymnasium.make``.

Figures per backend (memory, and PostgreSQL when ``CRM_ENV_TEST_DATABASE_URL`` is set): steps/s,
episodes/s, reset time and the wall time of one pass over every conversation of the dataset
(``eval-400`` once ``crm_env.datasets.load`` provides it, else the env tests' fixture conversations).
"""

from __future__ import annotations

import os
import time

import gymnasium as gym

import crm_env  # noqa: F401  (registers ArcCrm-v0)
from benchmarks.timing import Figure, median_seconds
from crm_env.envs.oracle import run_oracle_episode


def _dataset() -> tuple[dict, str]:
    try:
        gym.make("ArcCrm-v0").close()
        return {}, "eval-400"
    except Exception:
        from tests.envs.fixture_conversations import conversations

        return {"dataset": conversations()}, "fixture"


def _backend(url: str, label: str, data: dict, name: str) -> list[Figure]:
    env = gym.make("ArcCrm-v0", backend=url, reveal_reference=True, **data)
    ids = [c.conversation_id for c in env.unwrapped.conversations]
    for cid in ids[:20]:  # warm the per-conversation caches
        run_oracle_episode(env, options={"conversation_id": cid})
    start = time.perf_counter()
    steps = turns = ok = 0
    for cid in ids:
        result = run_oracle_episode(env, options={"conversation_id": cid})
        steps += result["steps"]
        turns += len(result["successes"])
        ok += sum(result["successes"])
    wall = time.perf_counter() - start
    episodes, steps_total, t0 = 0, 0, time.perf_counter()
    while time.perf_counter() - t0 < 1.0:
        for cid in ids:
            steps_total += run_oracle_episode(env, options={"conversation_id": cid})["steps"]
            episodes += 1
    elapsed = time.perf_counter() - t0
    unwrapped = env.unwrapped
    reset = median_seconds(lambda: unwrapped.reset(options={"conversation_id": ids[0]}), repeat=2000)
    env.close()
    memory = label == "memory"
    return [
        Figure(f"env oracle steps/s ({label}, {name})", steps_total / elapsed, "steps/s", 20_000 if memory else None),
        Figure(f"env oracle episodes/s ({label}, {name})", episodes / elapsed, "episodes/s"),
        Figure(f"env reset ({label})", reset * 1e6, "us", 50 if memory else None, higher_is_better=False),
        Figure(f"env {name} wall time, {len(ids)} conv / {turns} turns ({label})", wall, "s",
               5.0 if label == "postgresql" else None, higher_is_better=False),
        Figure(f"env oracle turn success ({label}, {name})", 100.0 * ok / max(turns, 1), "%", 100.0),
    ]


def run() -> list[Figure]:
    data, name = _dataset()
    figures = _backend("memory", "memory", data, name)
    url = os.environ.get("CRM_ENV_TEST_DATABASE_URL")
    if url:
        figures += _backend(url, "postgresql", data, name)
    return figures
