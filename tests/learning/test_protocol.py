"""The uplift protocol (``crm-env learn evaluate`` / ``learn report``): phases, paired figures, controls,
resume after a kill, and its metric definitions on data whose answer is known."""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from crm_env.cli.main import main
from crm_env.datasets.loader import load
from crm_env.learning.memory import import_json
from crm_env.learning.store import MemoryStore
from crm_env.learning.uplift import averaged, forgetting, paired_uplift
from tests.envs.helpers import datasets_available

pytestmark = pytest.mark.skipif(not datasets_available(), reason="packaged datasets not built")
SMALL = ["--orderings", "2", "--episodes", "80", "--trials", "2", "--sample", "30", "--no-progress",
         "--hold-out-intents", "create quote"]


@pytest.fixture(scope="module")
def protocol(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("protocol") / "run"
    assert main(["learn", "evaluate", *SMALL, "--output", str(out)]) == 0
    return out


def test_the_phases_are_ordinary_runs_on_the_right_splits(protocol: Path) -> None:
    dirs = {p.name for p in protocol.iterdir() if p.is_dir()}
    assert {d for d in dirs if not d.startswith("ablate-")} == {
        "baseline", "supervised", "frozen-0", "frozen-1", "learning-0", "learning-1", "placebo-0", "placebo-1",
        "probe-0-0", "probe-1-0"}  # 80 episodes: one window of 50, one probe per ordering
    summary = json.loads((protocol / "summary.json").read_text())
    assert {d for d in dirs if d.startswith("ablate-")} == {
        f"ablate-{e['ordering']}-{e['entry_id']}" for e in summary["entry_impact"]}
    assert len(summary["entry_impact"]) == 6  # the 3 most injected active entries of each ordering
    record = json.loads((protocol / "protocol.json").read_text())
    assert record["splits_read"] == ["arc-crm-1200:train", "arc-crm-1200:test"] and record["simulated"] is True
    for r in (0, 1):
        learned = json.loads((protocol / f"learning-{r}" / "run.json").read_text())
        assert learned["splits_read"] == ["arc-crm-1200:train"]
        assert learned["config"]["exclude_intents"] == ["CREATE QUOTE"]
        events = (protocol / f"learning-{r}" / "events.jsonl").read_text()
        episodes = {json.loads(e)["episode_id"].split(":")[1] for e in events.splitlines()}
        by_id = {c.conversation_id: c for c in load("arc-crm-1200", split="train")}
        assert not any(t.intent == "CREATE QUOTE" for cid in episodes for t in by_id[cid].turns)
    ids = [json.loads((protocol / phase / "run.json").read_text())["conversation_ids"]
           for phase in ("baseline", "supervised", "frozen-0", "frozen-1", "placebo-0", "placebo-1")]
    assert len(ids[0]) == 30 and all(i == ids[0] for i in ids)  # the same held-out conversations everywhere
    seeds = [{(r["conversation_id"], r["trial"]): r["seed"]
              for r in map(json.loads, (protocol / phase / "results.jsonl").read_text().splitlines())}
             for phase in ("baseline", "frozen-0")]
    assert seeds[0] == seeds[1]  # and the same episode seeds: every comparison is paired


def test_frozen_memory_lifts_the_simulated_student_and_the_placebo_does_not(protocol: Path) -> None:
    summary = json.loads((protocol / "summary.json").read_text())
    frozen = summary["uplift"]["strict"]["frozen"]
    assert frozen["uplift"] > 0 and frozen["ci_low"] > 0 and frozen["p_value"] < 0.05
    assert summary["uplift"]["turn"]["supervised"]["uplift"] >= 0  # the teacher only stops writes the CRM refuses
    placebo = summary["uplift"]["strict"]["placebo"]
    assert placebo["within_noise"] and placebo["ci_low"] <= 0 <= placebo["ci_high"]
    assert len(summary["uplift"]["turn"]["frozen_by_ordering"]) == 2
    assert summary["learning_curve_band"] and all(w["low"] <= w["mean"] <= w["high"]
                                                 for w in summary["learning_curve_band"])
    transfer = summary["transfer"]
    assert transfer["intents"] == ["CREATE QUOTE"]
    assert transfer["held_out_intent_turns"]["conversations"] > 0 and transfer["other_turns"]["conversations"] == 30
    assert [len(rows) for rows in summary["forgetting"]] == [1, 1]
    assert 0 < summary["forgetting"][0][0]["turn_success"] <= 1
    impacts = summary["entry_impact"]
    assert all(e["injected_while_learning"] > 0 and e["turn"]["conversations"] == 30 for e in impacts)
    assert any(e["turn"]["uplift"] > 0 for e in impacts)  # removing a taught entry costs the student turns
    report = (protocol / "report.md").read_text()
    assert report.startswith("**SIMULATED run**") and "| strict success | frozen memory |" in report
    for image in ("uplift.png", "learning_curve.png"):
        assert f"![{image}]({image})" in report and (protocol / image).read_bytes()[:4] == b"\x89PNG"
    assert not (protocol / "cost_curve.png").exists()  # offline agents cost nothing: no cost curve
    assert "| phase | role | USD |" in report and "Learning (every ordering): $0.0000." in report


def test_report_is_rebuilt_from_the_raw_files_alone(protocol: Path, tmp_path: Path) -> None:
    before = (protocol / "summary.json").read_text()
    (protocol / "summary.json").unlink()
    (protocol / "report.md").unlink()
    assert main(["learn", "report", str(protocol)]) == 0
    assert (protocol / "summary.json").read_text() == before
    assert main(["learn", "report", str(tmp_path)]) == 2


@pytest.mark.parametrize("flags", [["--orderings", "0"], ["--trials", "0"], ["--sample", "0"]])
def test_bad_flags_are_refused_with_nothing_written(flags: list[str], tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["learn", "evaluate", *flags, "--output", str(tmp_path / "run")]) == 2
    assert flags[0] in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_a_used_directory_and_a_clashing_resume_are_refused(protocol: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["learn", "evaluate", *SMALL, "--output", str(protocol)]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["learn", "evaluate", "--trials", "5", "--resume", "--output", str(protocol)]) == 2
    assert "--trials 5 (recorded: 2)" in capsys.readouterr().err


@pytest.mark.slow
def test_killed_at_a_random_moment_the_resumed_protocol_gives_the_same_summary(protocol: Path, tmp_path: Path) -> None:
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "crm_env.cli.main", "learn", "evaluate", *SMALL, "--output", str(out)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    time.sleep(random.Random().uniform(1.5, 5.0))
    process.send_signal(signal.SIGKILL)
    process.wait()
    resumed = subprocess.run([*command, "--resume"], check=False, capture_output=True, text=True, env=env, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert (out / "summary.json").read_text() == (protocol / "summary.json").read_text()


def _counts(pairs: list[tuple[int, int]], trials: int = 4) -> dict[str, tuple[float, float, float, float]]:
    return {f"c{i}": (float(ok), float(trials), float(turns_ok), 10.0) for i, (ok, turns_ok) in enumerate(pairs)}


def test_uplift_of_identical_arms_is_zero_with_p_one() -> None:
    rng = random.Random(3)
    arm = _counts([(rng.randint(0, 4), rng.randint(0, 10)) for _ in range(50)])
    u = paired_uplift(arm, arm)
    assert (u["uplift"], u["ci_low"], u["ci_high"], u["p_value"]) == (0.0, 0.0, 0.0, 1.0)


def test_a_consistent_gain_is_significant_and_its_mirror_is_negative() -> None:
    rng = random.Random(4)
    base = [(rng.randint(0, 3), rng.randint(3, 8)) for _ in range(60)]
    better = [(min(4, ok + 1), min(10, t + 2)) for ok, t in base]
    u = paired_uplift(_counts(base), _counts(better))
    assert u["uplift"] > 0.15 and u["ci_low"] > 0 and u["p_value"] < 0.001
    assert paired_uplift(_counts(better), _counts(base))["uplift"] == pytest.approx(-u["uplift"])
    assert paired_uplift(_counts(base), _counts(better), "turn")["uplift"] > 0


def test_noise_without_a_shift_is_not_significant() -> None:
    rng = random.Random(5)
    a = _counts([(rng.randint(0, 4), 5) for _ in range(80)])
    b = _counts([(rng.randint(0, 4), 5) for _ in range(80)])
    u = paired_uplift(a, b)
    assert u["ci_low"] <= 0 <= u["ci_high"] or u["p_value"] >= 0.01


def test_orderings_are_averaged_per_conversation_on_shared_conversations() -> None:
    one = {"a": (4.0, 4.0, 10.0, 10.0), "b": (0.0, 4.0, 0.0, 10.0)}
    two = {"a": (2.0, 4.0, 6.0, 10.0)}
    assert averaged([one, two]) == {"a": (3.0, 4.0, 8.0, 10.0)}


def _repack(source: Path, target: Path, edit, manifest_too: bool) -> None:  # type: ignore[no-untyped-def]
    """``source`` bundle with ``edit(files)`` applied (and the manifest's hashes updated when asked)."""
    with tarfile.open(source, "r:gz") as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    edit(files)
    if manifest_too:
        manifest = json.loads(files["MANIFEST.json"])
        manifest["files"] = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()
                             if name != "MANIFEST.json"}
        files["MANIFEST.json"] = json.dumps(manifest).encode()
    with tarfile.open(target, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _flip_first_result(files: dict[str, bytes]) -> None:
    lines = files["frozen-0/results.jsonl"].decode().splitlines()
    line = json.loads(lines[0])
    line["strict_success"] = not line["strict_success"]
    files["frozen-0/results.jsonl"] = ("\n".join([json.dumps(line), *lines[1:]]) + "\n").encode()


def _drop_last_snapshot_delta(files: dict[str, bytes]) -> None:
    snapshot = json.loads(files["learning-0/memory.snapshot.json"])
    snapshot["learning_memories"]["default"].pop()
    files["learning-0/memory.snapshot.json"] = json.dumps(snapshot).encode()


def test_the_bundled_memory_snapshot_restores_into_a_new_database(protocol: Path, tmp_path: Path) -> None:
    assert main(["learn", "bundle", str(protocol), str(tmp_path / "b.tar.gz")]) == 0
    with tarfile.open(tmp_path / "b.tar.gz", "r:gz") as tar:
        (tmp_path / "memory.snapshot.json").write_bytes(tar.extractfile("learning-0/memory.snapshot.json").read())  # type: ignore[union-attr]
        exported = import_json(tar.extractfile("learning-0/memory.json").read().decode())  # type: ignore[union-attr]
    url = f"sqlite:///{tmp_path / 'restored.db'}"
    assert main(["db", "restore", str(tmp_path / "memory.snapshot.json"), "--url", url]) == 0
    with MemoryStore(url) as restored:
        assert restored.deltas() == exported and restored.state().version == len(exported) > 0


def test_a_bundle_verifies_and_a_tampered_one_does_not(protocol: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "hand-off.tar.gz"
    assert main(["learn", "bundle", str(protocol), str(target)]) == 0
    with tarfile.open(target, "r:gz") as tar:
        names = set(tar.getnames())
    assert {"MANIFEST.json", "VERIFY.md", "protocol.json", "summary.json", "report.md", "splits.json",
            "events.schema.json", "baseline/results.jsonl", "learning-0/memory.json", "learning-0/events.jsonl",
            "learning-0/memory.db", "learning-0/memory.snapshot.json", "frozen-1/run.json"} <= names
    assert main(["learn", "verify", str(target)]) == 0
    assert "a SIMULATED run" in capsys.readouterr().out
    with tarfile.open(target, "r:gz") as tar:
        assert tar.extractfile("VERIFY.md").read().startswith(b"**SIMULATED run**")  # type: ignore[union-attr]
    changed = tmp_path / "changed.tar.gz"
    _repack(target, changed, _flip_first_result, manifest_too=False)
    assert main(["learn", "verify", str(changed)]) == 1
    assert "frozen-0/results.jsonl: its SHA-256 differs" in capsys.readouterr().out
    _repack(target, changed, _flip_first_result, manifest_too=True)  # a tamperer who re-hashed the files
    assert main(["learn", "verify", str(changed)]) == 1
    assert "summary.json: uplift differs from its value recomputed from the raw files" in capsys.readouterr().out
    _repack(target, changed, lambda files: files.pop("learning-1/memory.json"), manifest_too=False)
    assert main(["learn", "verify", str(changed)]) == 1
    assert "learning-1/memory.json: missing" in capsys.readouterr().out
    _repack(target, changed, _drop_last_snapshot_delta, manifest_too=True)
    assert main(["learn", "verify", str(changed)]) == 1
    assert "learning-0/memory.snapshot.json does not hold the deltas of" in capsys.readouterr().out
    (tmp_path / "junk.tar.gz").write_bytes(b"not a bundle")
    assert main(["learn", "verify", str(tmp_path / "junk.tar.gz")]) == 2
    assert main(["learn", "bundle", str(tmp_path), str(tmp_path / "none.tar.gz")]) == 2
    assert not (tmp_path / "none.tar.gz").exists()


def test_forgetting_counts_probe_turns_that_got_worse_and_better() -> None:
    first = {("a", 0, 1): True, ("a", 0, 2): True, ("b", 0, 1): False, ("b", 0, 2): True}
    second = {("a", 0, 1): False, ("a", 0, 2): True, ("b", 0, 1): True, ("b", 0, 2): True}
    third = dict(second)
    rows = forgetting([first, second, third])
    assert rows[0] == {"window": 0, "turn_success": 0.75, "got_worse": None, "got_better": None}
    assert rows[1] == {"window": 1, "turn_success": 0.75, "got_worse": 0.25, "got_better": 0.25}
    assert rows[2]["got_worse"] == rows[2]["got_better"] == 0.0
