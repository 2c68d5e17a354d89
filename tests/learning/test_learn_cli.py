"""``crm-env learn run / explain / schema`` as a user runs them: a run killed at a random moment resumes to
the files of an uninterrupted run; bad input gets a clear error, exit code 2 and nothing half-written."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crm_env.cli.main import main
from crm_env.datasets.loader import dump, load
from crm_env.learning.events import EVENT_TYPES
from tests.envs.helpers import datasets_available

pytestmark = pytest.mark.skipif(not datasets_available(), reason="the packaged dataset is not available")
EPISODES = "120"


def _learn(*args: str) -> list[str]:
    return [sys.executable, "-m", "crm_env.cli.main", "learn", "run", "--episodes", EPISODES, "--no-progress", *args]


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "whole"
    done = subprocess.run(_learn("--output", str(out)), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "SIMULATED" in done.stdout and "turn success" in done.stdout
    return out


def test_killed_at_a_random_moment_and_resumed_gives_the_same_files(whole: Path, tmp_path: Path) -> None:
    out = tmp_path / "killed"
    rng = random.Random(os.getpid())
    process = subprocess.Popen(_learn("--output", str(out)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not (out / "events.jsonl").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(rng.uniform(0.0, 1.0))  # somewhere in the run (it takes about 2 s)
    process.send_signal(signal.SIGKILL)
    process.wait()
    resumed = subprocess.run(_learn("--output", str(out), "--resume"), capture_output=True, text=True, check=False)
    assert resumed.returncode == 0, resumed.stderr
    for name in ("events.jsonl", "memory.json", "summary.json"):
        assert (out / name).read_bytes() == (whole / name).read_bytes(), name


def test_ctrl_c_stops_between_episodes_and_says_how_to_resume(whole: Path, tmp_path: Path) -> None:
    out = tmp_path / "interrupted"
    process = subprocess.Popen(_learn("--output", str(out)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while not (out / "events.jsonl").exists() or (out / "events.jsonl").stat().st_size < 10_000:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "--resume" in err and "Traceback" not in err
    assert main(["learn", "run", "--episodes", EPISODES, "--no-progress", "--output", str(out), "--resume"]) == 0
    assert (out / "memory.json").read_bytes() == (whole / "memory.json").read_bytes()


def test_explain_lists_the_memory_and_tells_an_entry_s_story(whole: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["learn", "explain", str(whole)]) == 0
    listing = capsys.readouterr().out
    assert listing.startswith("SIMULATED") and "active" in listing
    entry_id = next(line.split()[0] for line in listing.splitlines() if " active " in line)
    assert main(["learn", "explain", str(whole), "--entry", entry_id[:12]]) == 0  # a unique prefix will do
    story = capsys.readouterr().out
    for part in (f"entry {entry_id} (active", "says:", "origin:    proposed by the rule teacher", "history:",
                 "active: evidence from", "injected:  on", "impact:    success with it"):
        assert part in story, part
    assert main(["learn", "explain", str(whole), "--entry", "e-nothing"]) == 2
    assert "crm-env learn explain RUN_DIR" in capsys.readouterr().err


def test_schema_names_every_event_kind(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["learn", "schema"]) == 0
    schema = capsys.readouterr().out
    json.loads(schema)
    assert all(kind.model_fields["kind"].default in schema for kind in EVENT_TYPES)


def _bad_import(tmp_path: Path) -> list[str]:
    path = tmp_path / "bad.json"
    path.write_text('{"format": 1, "deltas": [{"version": 2, "change": {"op": "set_status"}}]}')
    return ["--import-memory", str(path)]


def _corrupt_memory(tmp_path: Path) -> list[str]:
    path = tmp_path / "memory.db"
    path.write_bytes(b"this is not a database" * 100)
    return ["--memory", f"sqlite:///{path}"]


@pytest.mark.parametrize(("flags", "message"), [
    (lambda tmp: ["--split", "test"], "held out"),
    (lambda tmp: ["--dataset", "arc-crm-1200"], "arc-crm-1200 holds the 'test' split, held out"),
    (lambda tmp: ["--dataset", str(dump(load("arc-crm-1200:test", allow_held_out=True)[:3], tmp / "copy.jsonl"))],
     "held-out conversation"),
    (lambda tmp: ["--memory", "postgresql+psycopg://nobody@127.0.0.1:1/x"], "cannot open the learning memory"),
    (_corrupt_memory, "not a database"),
    (_bad_import, "does not validate"),
    (lambda tmp: ["--import-memory", str(tmp / "missing.json")], "cannot read"),
    (lambda tmp: ["--episodes", "0"], "--episodes"),
    (lambda tmp: ["--resume"], "does not exist"),
])
def test_bad_input_is_refused_with_nothing_written(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   flags, message: str) -> None:
    out = tmp_path / "run"
    assert main(["learn", "run", "--no-progress", "--output", str(out), *flags(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists() or not any(out.iterdir())


def test_a_used_directory_and_a_clashing_resume_are_refused(whole: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = {p.name: p.read_bytes() for p in whole.iterdir() if p.is_file()}
    assert main(["learn", "run", "--output", str(whole)]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["learn", "run", "--output", str(whole), "--resume", "--teacher", "placebo"]) == 2
    assert "--teacher placebo (recorded: rule)" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in whole.iterdir() if p.is_file()} == before
