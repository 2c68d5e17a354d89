"""``crm-env eval --executor ray`` on a real local Ray cluster (loopback only): the oracle scores 100 % on
memory and PostgreSQL, the summary equals the local runner's, dead workers are replaced, the budget stops,
the driver killed or interrupted resumes to the same summary, and what cannot work fails before the run."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from crm_env.agents.replay import ReplayAgent
from crm_env.cli.main import main
from crm_env.datasets import dump, load
from crm_env.eval.config import RunConfig
from crm_env.eval.job import run_eval
from crm_env.eval.results import load_results
from tests.conftest import require_extra
from tests.eval.helpers import FlakyAgent, scores
from tests.integrations.conftest import ROOT


def _small(tmp_path: Path, n: int) -> Path:
    return dump(load("arc-crm-1200", split="eval-400")[:n], tmp_path / "convs.jsonl")


class DyingReplay(ReplayAgent):
    """The oracle, whose process dies in the middle of one conversation (once, or every time)."""

    def __init__(self, conversations: Any, victim: str, marker: Path | None) -> None:
        super().__init__(conversations)
        self.victim, self.marker = victim, marker

    def act(self, observation: Any) -> str:
        assert self._conv is not None
        last = observation.get("turn") == len(self._conv.turns) - 1
        if self.conversation_id == self.victim and last and (self.marker is None or not self.marker.exists()):
            if self.marker is not None:
                self.marker.touch()
            os._exit(1)  # the worker process dies mid-episode, as on a lost node
        return super().act(observation)


def test_replay_is_100_percent_on_eval_400_on_ray_in_memory(cluster: Any, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture) -> None:
    code = main(["eval", "--agent", "replay", "--executor", "ray", "--workers", "2", "--slots-per-worker", "8",
                 "--output", str(tmp_path / "run"), "--no-progress"])
    assert code == 0
    out = capsys.readouterr().out
    assert "on Ray: 2 worker(s) × 8 slot(s) = 16 episode(s) in flight" in out and "SIMULATED" in out
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["episodes"]["completed"] == 400 and summary["strict_success"]["value"] == 1.0
    lines = load_results(tmp_path / "run" / "results.jsonl")
    assert len(lines.lines) == 400 and lines.duplicates == 0
    assert len({line.session for line in lines.lines.values()}) == 1  # one driver session wrote them all
    record = json.loads((tmp_path / "run" / "run.json").read_text())["config"]
    assert record["executor"] == "ray" and record["workers"] == 2 and record["slots_per_worker"] == 8


@pytest.mark.postgres
def test_replay_is_100_percent_on_eval_400_on_ray_on_postgres(cluster: Any, tmp_path: Path, pg_url: str) -> None:
    code = main(["eval", "--agent", "replay", "--executor", "ray", "--workers", "2", "--slots-per-worker", "8",
                 "--backend", pg_url, "--output", str(tmp_path / "run"), "--no-progress"])
    assert code == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["episodes"]["completed"] == 400 and summary["strict_success"]["value"] == 1.0


@pytest.mark.postgres
def test_too_many_connections_for_the_server_fail_before_the_run(cluster: Any, tmp_path: Path, pg_url: str,
                                                                 capsys: pytest.CaptureFixture) -> None:
    code = main(["eval", "--executor", "ray", "--workers", "2", "--slots-per-worker", "1000", "--backend", pg_url,
                 "--output", str(tmp_path / "run"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "2000 connections needed" in err and "max_connections" in err
    assert not (tmp_path / "run").exists()


def test_the_scripted_agents_summary_equals_the_local_runners(cluster: Any, tmp_path: Path) -> None:
    data = _small(tmp_path, 60)
    common = {"conversations": str(data), "split": None, "trials": 2, "seed": 5, "progress": False}
    local = run_eval(RunConfig(**common, output=str(tmp_path / "local")), out=io.StringIO())
    remote = run_eval(RunConfig(**common, output=str(tmp_path / "ray"), executor="ray", workers=2,
                                slots_per_worker=3), out=io.StringIO())
    assert 0 < local["strict_success"]["value"] < 1  # a summary with failures in it, so equality means something
    assert scores(remote) == scores(local)


def test_a_worker_that_dies_is_replaced_and_its_episodes_played_again(cluster: Any, tmp_path: Path) -> None:
    data = _small(tmp_path, 16)
    convs = load(data)
    victim, marker = convs[3].conversation_id, tmp_path / "died-once"
    config = RunConfig(conversations=str(data), split=None, agent="replay", progress=False,
                       output=str(tmp_path / "run"), executor="ray", workers=2, slots_per_worker=4)
    summary = run_eval(config, agent_factory=lambda c, t, s: DyingReplay([c], victim, marker), out=io.StringIO())
    assert marker.exists(), (summary["episodes"], summary.get("infra_failures", [])[:1])  # the worker did die
    assert summary["episodes"]["completed"] == 16 and summary["episodes"]["infra_errors"] == 0
    assert summary["strict_success"]["value"] == 1.0


def test_an_episode_whose_worker_always_dies_is_left_to_resume(cluster: Any, tmp_path: Path) -> None:
    data = _small(tmp_path, 6)
    victim = load(data)[2].conversation_id
    out = tmp_path / "run"
    # one slot: no other episode shares the dying worker (one that does is played again, and may be lost too)
    config = RunConfig(conversations=str(data), split=None, agent="replay", progress=False, output=str(out),
                       executor="ray", workers=1, slots_per_worker=1)
    first = run_eval(config, agent_factory=lambda c, t, s: DyingReplay([c], victim, None), out=io.StringIO())
    assert first["episodes"]["completed"] == 5 and first["episodes"]["infra_errors"] == 1
    assert "ray worker lost 3 times" in first["infra_failures"][0]["cause"]
    second = run_eval(config, resume=True, given={"output": str(out)}, out=io.StringIO())
    assert second["episodes"]["completed"] == 6 and second["episodes"]["infra_errors"] == 0
    loaded = load_results(out / "results.jsonl")
    assert loaded.duplicates == 0 and loaded.lines[(victim, 0)].infra_history


def test_the_budget_stops_a_ray_run_and_resume_finishes_it(cluster: Any, tmp_path: Path) -> None:
    data = _small(tmp_path, 10)
    out = tmp_path / "run"
    config = RunConfig(conversations=str(data), split=None, output=str(out), agent="replay", progress=False,
                       budget_usd=0.05, executor="ray", workers=1, slots_per_worker=2)
    factory = lambda c, t, s: FlakyAgent(ReplayAgent([c]), False, cost_model="gpt-4.1")  # noqa: E731
    first = run_eval(config, agent_factory=factory, out=io.StringIO())
    assert first["stopped_by_budget"] and first["episodes"]["pending"] > 0
    costs = [line.cost_usd for line in load_results(out / "results.jsonl").lines.values()]
    assert sum(costs) == pytest.approx(first["usage"]["total_cost_usd"])
    assert sum(costs) <= 0.05 + 2 * max(costs)  # past the budget by at most the 2 episodes in flight
    second = run_eval(config, resume=True, given={"output": str(out), "budget_usd": 100.0}, agent_factory=factory,
                      out=io.StringIO())
    assert second["episodes"]["pending"] == 0 and second["episodes"]["completed"] == 10


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "crm_env.cli.main", "eval", "--no-progress", *args]


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_the_driver_killed_or_interrupted_resumes_to_the_same_summary(cluster: Any, tmp_path: Path,
                                                                     sig: signal.Signals) -> None:
    data = _small(tmp_path, 80)
    common = ["--conversations", str(data), "--trials", "2", "--seed", "13"]
    reference = run_eval(RunConfig(conversations=str(data), split=None, trials=2, seed=13, progress=False,
                                   output=str(tmp_path / "reference")), out=io.StringIO())
    run = tmp_path / "run"
    results = run / "results.jsonl"
    # Its own session, so that SIGINT reaches the driver and its cluster as a terminal's Ctrl-C would, and
    # whatever Ray leaves behind a SIGKILL can be cleared.
    proc = subprocess.Popen(_cli(*common, "--executor", "ray", "--workers", "2", "--output", str(run)), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if results.exists() and results.stat().st_size > 0:
                break
            time.sleep(0.01)
        assert proc.poll() is None, proc.communicate()
        os.killpg(proc.pid, sig)
        proc.communicate(timeout=60)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert proc.returncode == (-signal.SIGKILL if sig == signal.SIGKILL else 130)
    interrupted = load_results(results)
    assert interrupted.duplicates == 0 and 0 < len(interrupted.completed) < 160
    if sig == signal.SIGINT:  # an interrupted run writes its summary of what finished
        assert json.loads((run / "summary.json").read_text())["episodes"]["completed"] == len(interrupted.completed)
    resumed = subprocess.run(_cli("--output", str(run), "--resume", "--executor", "ray", "--workers", "2"),
                             cwd=ROOT, capture_output=True, text=True, timeout=300, start_new_session=True, check=False)
    assert resumed.returncode == 0, resumed.stderr
    loaded = load_results(results)
    assert loaded.duplicates == 0 and len(loaded.lines) == 160
    assert scores(json.loads((run / "summary.json").read_text())) == scores(reference)


def test_an_unreachable_ray_address_fails_before_the_run(tmp_path: Path) -> None:
    require_extra("ray", "ray")
    run = tmp_path / "run"
    proc = subprocess.run(_cli("--executor", "ray", "--ray-address", "127.0.0.1:1", "--output", str(run)),
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2
    assert "--ray-address 127.0.0.1:1: nothing answers there" in proc.stderr and "ray start --head" in proc.stderr
    assert "evaluating" not in proc.stdout and not run.exists()


def test_a_missing_ray_extra_fails_before_the_run(tmp_path: Path) -> None:
    run = tmp_path / "run"
    code = ("import sys; sys.modules['ray'] = None; from crm_env.cli.main import main; "
            f"sys.exit(main(['eval', '--executor', 'ray', '--output', {str(run)!r}, '--no-progress']))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 2
    assert "--executor ray needs the [ray] extra: pip install 'crm_env[ray]'" in proc.stderr
    assert not run.exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--executor", "ray", "--concurrency", "4"], "leave out --concurrency"),
    (["--workers", "2"], "--workers apply to Ray workers: add --executor ray"),
    (["--executor", "ray", "--slots-per-worker", "0"], "--slots-per-worker"),
])
def test_ray_flags_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture, args: list[str], message: str) -> None:
    assert main(["eval", *args, "--output", str(tmp_path / "run"), "--no-progress"]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
