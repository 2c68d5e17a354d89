"""``crm-env learn run --executor ray`` on a real local Ray cluster: it writes the same bytes as a local run
(offline, and with LLM teacher and judges against the fake server), a run may switch executor on resume,
a dead worker is replaced and the episode played again identically, and what cannot work fails before
anything is written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from crm_env.cli.main import main
from crm_env.eval.prices import PriceTable
from crm_env.learning.memory import PlaybookState
from crm_env.learning.run import LearnConfig, load_stream
from crm_env.learning.schedule import Snapshot
from tests.conftest import require_extra
from tests.envs.helpers import datasets_available
from tests.integrations.conftest import ROOT
from tests.learning.test_concurrency import _llm, _same, providers

pytestmark = pytest.mark.skipif(not datasets_available(), reason="packaged datasets not built")
RAY = ["--executor", "ray", "--workers", "2", "--slots-per-worker", "2"]


def test_ray_learns_the_same_bytes_as_one_local_slot(cluster: Any, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    flags = ["learn", "run", "--lane", "adaptive", "--lag", "7", "--episodes", "120", "--no-progress"]
    assert main([*flags, "--output", str(tmp_path / "one")]) == 0
    assert main([*flags, *RAY, "--output", str(tmp_path / "ray")]) == 0
    assert "on Ray: 2 worker(s) × 2 slot(s) = 4 episode(s) in flight" in capsys.readouterr().out
    _same(tmp_path / "one", tmp_path / "ray")


def test_a_run_may_switch_executor_on_resume(cluster: Any, tmp_path: Path) -> None:
    whole, halves = tmp_path / "whole", tmp_path / "halves"
    flags = ["learn", "run", "--lane", "escalate", "--lag", "3", "--no-progress"]
    assert main([*flags, "--episodes", "50", "--output", str(whole)]) == 0
    assert main([*flags, *RAY, "--episodes", "21", "--output", str(halves)]) == 0
    assert main([*flags, "--episodes", "50", "--concurrency", "2", "--resume", "--output", str(halves)]) == 0
    _same(whole, halves)


def test_llm_teacher_and_judges_learn_the_same_on_ray(cluster: Any, tmp_path: Path) -> None:
    with providers.FakeProvider("openai", model="gpt-4.1-mini") as provider:
        provider.default = _llm(provider)
        flags = ["learn", "run", "--teacher", "openai", "--teacher-base-url", provider.url, "--judge-model",
                 f"openai:gpt-4.1-nano@{provider.url}", "--judge-samples", "2", "--lane", "paired", "--lag", "3",
                 "--episodes", "16", "--no-progress"]
        assert main([*flags, "--output", str(tmp_path / "one")]) == 0
        assert main([*flags, *RAY, "--output", str(tmp_path / "ray")]) == 0
    _same(tmp_path / "one", tmp_path / "ray")


def test_a_dead_learning_worker_is_replaced_and_the_episode_played_again(cluster: Any) -> None:
    from crm_env.integrations.ray.learn import LearnPool

    config = LearnConfig(lane="escalate", executor="ray", workers=1, slots_per_worker=1)
    conversations = load_stream(config)[:4]
    pool = LearnPool(config, conversations, PriceTable(), 1, 1)
    try:
        snapshot = Snapshot(PlaybookState(), None, None)
        cid = conversations[2].conversation_id
        first = pool.play(0, 5, cid, 11, snapshot, {})
        cluster.ray.kill(pool.actors[0], no_restart=True)
        again = pool.play(0, 5, cid, 11, snapshot, {})
    finally:
        pool.close()
    assert pool.restarts == [1]
    assert (again.turns, again.successes, again.strict) == (first.turns, first.successes, first.strict)
    assert again.events == first.events and again.outcomes == first.outcomes and first.turns > 0


def test_an_unreachable_ray_address_fails_before_the_learning_run(tmp_path: Path) -> None:
    require_extra("ray", "ray")
    run = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "crm_env.cli.main", "learn", "run", "--episodes", "3",
                           "--executor", "ray", "--ray-address", "127.0.0.1:1", "--output", str(run)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2 and "--ray-address 127.0.0.1:1: nothing answers there" in proc.stderr
    assert not run.exists()


def test_concurrency_is_refused_with_ray_workers(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["learn", "run", *RAY, "--concurrency", "4", "--output", str(tmp_path / "run")]) == 2
    assert "leave out --concurrency" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
