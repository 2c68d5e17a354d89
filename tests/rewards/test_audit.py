"""The reward audit (``crm_env.rewards.audit``) as a gate: on eval-400, memory, judge off, no bad family has
a false pass and no good family more than 2 % false fails; SQLite and PostgreSQL agree with memory verdict
for verdict; a deliberately broken reward makes the gate fail; bad input is refused before any output."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from crm_env.cli.main import main
from crm_env.datasets import load
from crm_env.datasets.intents import TaskIntent
from crm_env.rewards import ensemble
from crm_env.rewards.audit.families import FAMILIES
from crm_env.rewards.audit.runner import MAX_FALSE_FAILS, run_audit, tally
from crm_env.rewards.component import passed
from tests.conftest import postgres_url
from tests.envs.helpers import datasets_available

pytestmark = pytest.mark.skipif(not datasets_available(), reason="the packaged eval-400 split is not available")


@pytest.fixture(scope="module")
def eval400() -> list:
    return load("arc-crm-1200", split="eval-400")


@pytest.fixture(scope="module")
def whole(eval400: list) -> list:
    return run_audit(eval400)


def test_every_gate_holds_on_eval_400(whole: list) -> None:
    rows = tally(whole)
    assert [r["family"] for r in rows if r["gate"] == "FAIL"] == []
    for row in rows:
        if row["label"] == "bad":
            assert row["false_pass"] == 0, row
        else:
            assert row["false_fail"] + row["undecided"] <= MAX_FALSE_FAILS * row["n"], row


def test_the_audit_is_large_covers_every_intent_and_both_labels(whole: list) -> None:
    assert len(whole) >= 2000
    assert {t.intent for t in whole} == {i.value for i in TaskIntent}
    assert {f.label for f in FAMILIES} == {"good", "bad"}
    counts = {f.name: sum(t.family == f.name for t in whole) for f in FAMILIES}
    assert all(n >= 40 for n in counts.values()), counts


def test_the_audit_is_seeded_and_deterministic(eval400: list) -> None:
    first = [t.to_dict() for t in run_audit(eval400, per_family=8, seed=5)]
    again = [t.to_dict() for t in run_audit(eval400, per_family=8, seed=5)]
    other = [t.to_dict() for t in run_audit(eval400, per_family=8, seed=6)]
    assert first == again and first != other


def _verdicts(trajectories: list) -> list[tuple]:
    return [(t.family, t.conversation_id, t.turn_id, t.success, t.outcome) for t in trajectories]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_sql_backends_agree_with_memory_verdict_for_verdict(whole: list, eval400: list, backend: str,
                                                           tmp_path: Path) -> None:
    url = postgres_url() if backend == "postgres" else f"sqlite:///{tmp_path / 'audit.db'}"
    assert _verdicts(run_audit(eval400, backend=url)) == _verdicts(whole)


@pytest.mark.parametrize(("check", "caught"), [
    ("validate_state", {"missing write", "wrong write", "extra write", "undone create", "wrong record"}),
    ("check_reply", {"negated facts", "invented facts", "keyword stuffing", "generic reply", "dump"}),
    ("validate_grounding", {"facts never retrieved"}),
])
def test_a_broken_reward_fails_the_gate(eval400: list, monkeypatch: pytest.MonkeyPatch, check: str,
                                        caught: set[str]) -> None:
    monkeypatch.setattr(ensemble, check, lambda *args, **kwargs: passed(check, "broken on purpose"))
    rows = tally(run_audit(eval400, per_family=20), FAMILIES)
    failing = {r["family"] for r in rows if r["gate"] == "FAIL"}
    assert caught <= failing


def test_the_command_prints_the_table_writes_the_files_and_exits_by_the_gate(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "audit"
    assert main(["reward", "audit", "--per-family", "6", "--output", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "| gold | good |" in printed and "every gate holds" in printed
    lines = [json.loads(line) for line in (out / "trajectories.jsonl").read_text().splitlines()]
    summary = json.loads((out / "summary.json").read_text())
    assert len(lines) == summary["trajectories"] and {r["family"] for r in summary["families"]} == {
        f.name for f in FAMILIES}
    assert all({"actions", "outcome", "failed", "label"} <= set(line) for line in lines)
    monkeypatch.setattr(ensemble, "validate_state", lambda *a, **k: passed("state", "broken on purpose"))
    assert main(["reward", "audit", "--per-family", "6", "--output", str(out), "--no-progress"]) == 1
    assert "gates FAILED" in capsys.readouterr().out


def _unlinted(tmp_path: Path) -> str:
    conversation = load("arc-crm-1200", split="eval-400")[0].model_dump(mode="json")
    conversation["turns"][0]["reply_facts"] = [{"label": "amount", "value": 123}]  # not what the turn yields
    path = tmp_path / "broken.jsonl.gz"
    path.write_bytes(gzip.compress((json.dumps(conversation) + "\n").encode()))
    return str(path)


@pytest.mark.parametrize(("flags", "message"), [
    (lambda tmp: ["--split", "nope"], "no split 'nope'"),
    (lambda tmp: ["--dataset", "nope"], "not a packaged dataset"),
    (lambda tmp: ["--dataset", _unlinted(tmp)], "fails lint (1 finding(s)"),
    (lambda tmp: ["--per-family", "0"], "--per-family"),
])
def test_bad_input_is_refused_before_any_output(tmp_path: Path, capsys: pytest.CaptureFixture[str], flags,
                                                message: str) -> None:
    out = tmp_path / "audit"
    assert main(["reward", "audit", "--output", str(out), "--no-progress", *flags(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.startswith("crm-env: error:")
    assert not out.exists()
