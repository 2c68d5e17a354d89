"""Kill-and-resume: a run interrupted by signals at random moments resumes to the same summary as an
uninterrupted run, with no duplicate or torn lines."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crm_env.datasets import dump, load
from crm_env.eval.results import load_results
from tests.eval.helpers import scores

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "crm_env.cli.main", "eval", "--no-progress", *args]


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_interrupted_run_resumes_to_the_uninterrupted_summary(tmp_path: Path, sig: signal.Signals) -> None:
    convs = load("arc-crm-1200", split="eval-400")[:100]
    data = dump(convs, tmp_path / "convs.jsonl")
    common = ["--conversations", str(data), "--trials", "2", "--seed", "11", "--concurrency", "4"]
    reference = tmp_path / "reference"
    subprocess.run(_cli(*common, "--output", str(reference)), check=True, cwd=ROOT, capture_output=True)
    run = tmp_path / "run"
    rng = random.Random(sig)
    results = run / "results.jsonl"
    first = True
    for attempt in range(3):  # three interruptions, then a resume to the end
        args = _cli(*common, "--output", str(run)) if first else _cli("--output", str(run), "--resume")
        proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # wait until the run is writing results, then interrupt it at a random moment
        deadline = time.monotonic() + 60
        start_size = results.stat().st_size if results.exists() else 0
        while time.monotonic() < deadline and proc.poll() is None:
            if results.exists() and results.stat().st_size > start_size:
                break
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.4))
        if proc.poll() is None:
            proc.send_signal(sig)
        proc.communicate(timeout=60)
        first = first and not (run / "run.json").exists()
        if proc.returncode == 0:
            break
        assert proc.returncode in (-signal.SIGKILL, 130, -signal.SIGINT), proc.returncode
        loaded = load_results(results)  # never corrupt in the middle; at most a torn tail
        assert loaded.duplicates == 0
    else:
        subprocess.run(_cli("--output", str(run), "--resume"), check=True, cwd=ROOT, capture_output=True)
    assert attempt >= 1, "the run was never interrupted"
    text = results.read_text()
    assert text.endswith("\n")
    keys = [(d["conversation_id"], d["trial"]) for d in map(json.loads, text.splitlines())]
    assert len(keys) == len(set(keys)) == 200
    got = json.loads((run / "summary.json").read_text())
    want = json.loads((reference / "summary.json").read_text())
    assert scores(got) == scores(want)
