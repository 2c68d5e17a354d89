"""The gates: zero lint findings on packaged data, and 100 % oracle replay on every backend."""

from __future__ import annotations

import pytest

from crm_env import CrmSandbox
from crm_env.datasets import load
from crm_env.datasets.findings import table
from crm_env.datasets.format import Conversation
from crm_env.datasets.lint import lint
from crm_env.datasets.replay import play, replay


@pytest.mark.parametrize("name", ["arc-crm-1200", "golden"])
def test_packaged_datasets_lint_clean(name: str) -> None:
    findings = lint(load(name))
    assert not findings, table(findings)


def test_replay_every_backend(backend_url: str, arc_all: list[Conversation], golden_suite: list[Conversation]) -> None:
    # Memory replays everything; SQL backends replay eval-400 and the golden suite, to stay fast.
    conversations = arc_all if backend_url == "memory" else load("arc-crm-1200", split="eval-400")
    for batch in (conversations, golden_suite):
        report = replay(batch, backend_url, strict=True)
        assert report.findings == [], table(report.findings)
        assert report.success_rate == 1.0


def test_negative_turns_leave_state_unchanged(golden_suite: list[Conversation]) -> None:
    box = CrmSandbox("memory")
    negatives = [c for c in golden_suite if not c.turns[0].expect_success]
    assert len(negatives) >= 15
    for conversation in negatives:
        failed, findings = play(conversation, box, strict=True)
        assert failed == 0 and not findings
        before = conversation.initial_seed().to_json()
        after = {k: v for k, v in box.snapshot().items() if v}
        assert {k: sorted(r[next(iter(r))] for r in v) for k, v in after.items()} == {
            k: sorted(r[next(iter(r))] for r in v) for k, v in before.items()}


def test_lint_catches_defects(golden_suite: list[Conversation]) -> None:
    good = golden_suite[0]
    turn = good.turns[0]
    broken_turn = turn.model_copy(update={"utterance": "Do the thing with {stage} please."})
    broken = good.model_copy(update={"turns": [broken_turn]})
    checks = {f.check for f in lint([broken])}
    assert "slot" in checks and "utterance" in checks
    wrong_outcome = good.model_copy(update={"turns": [turn.model_copy(update={
        "expect_success": False, "expected_error": "not_found", "failure_category": "unknown_id"})]})
    assert "negative" in {f.check for f in lint([wrong_outcome])}
