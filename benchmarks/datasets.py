"""Datasets: generation time for 1,200 conversations and oracle replay time of eval-400 per backend.

Replay times are for prepared conversations (initial records validated once and cached, as the env
does between episodes); the first pass, which also validates the seeds, is reported separately.
SQL figures are measured when ``CRM_ENV_TEST_DATABASE_URL`` names a server, and on SQLite in memory
when the SQL backend is installed.
"""

from __future__ import annotations

import os
import time

from benchmarks.timing import Figure
from crm_env.datasets import load
from crm_env.datasets.generator import generate
from crm_env.datasets.replay import replay


def _best(func, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def _replay_figures(label: str, url: str, conversations: list, target: float | None) -> list[Figure]:
    report = replay(conversations, url)
    if report.success_rate != 1.0:
        raise RuntimeError(f"replay on {label} failed: {report.findings[:3]}")
    seconds = min(replay(conversations, url).seconds for _ in range(3))
    return [Figure(f"replay eval-400 on {label} ({report.turns} turns)", seconds, "s", target, higher_is_better=False),
            Figure(f"replay eval-400 on {label}, turns per second", report.turns / seconds, "turns/s")]


def run() -> list[Figure]:
    figures = [Figure("generate 1,200 conversations", _best(lambda: generate(1200, 1200), 2), "s", 10.0,
                      higher_is_better=False)]
    evaluation = load("arc-crm-1200", split="eval-400")
    first = replay(evaluation, "memory").seconds  # includes validating each conversation's seed once
    figures.append(Figure("replay eval-400 on memory, first pass (seeds validated)", first, "s"))
    figures += _replay_figures("memory", "memory", evaluation, 0.1)
    try:
        import crm_env.backends.sql  # noqa: F401
    except ImportError:
        pass
    else:
        figures += _replay_figures("sqlite", "sqlite://", evaluation, None)
    url = os.environ.get("CRM_ENV_TEST_DATABASE_URL")
    if url:
        figures += _replay_figures("postgresql", url, evaluation, 3.0)
    return figures
