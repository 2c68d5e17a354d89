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
    findings = lint(load(name, allow_held_out=True))  # the dataset gates cover every split
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


def _set_to_current(conversation: Conversation) -> Conversation:
    """The conversation with its (single) modify call asking for the value the record already holds."""
    turn = conversation.turns[0]
    call = turn.gold_calls[0]
    (id_field, record_id), *fields = call.arguments.items()
    entity = next(name for name, rows in conversation.initial_records.items()
                  if any(r.get(id_field) == record_id for r in rows))
    record = next(r for r in conversation.initial_records[entity] if r.get(id_field) == record_id)
    arguments = {id_field: record_id, **{k: record[k] for k, _ in fields}}
    broken = turn.model_copy(update={"gold_calls": [call.model_copy(update={"arguments": arguments})]})
    return conversation.model_copy(update={"turns": [broken]})


@pytest.mark.parametrize("case", ["golden-001-happy-modify-opportunity", "golden-017-happy-modify-client",
                                  "golden-018-happy-modify-quote"])
def test_lint_rejects_a_gold_write_that_changes_nothing(golden_suite: list[Conversation], case: str) -> None:
    good = next(c for c in golden_suite if c.conversation_id == case)
    assert "no_change" not in {f.check for f in lint([good])}
    findings = [f for f in lint([_set_to_current(good)]) if f.check == "no_change"]
    assert [(f.conversation_id, f.turn_id) for f in findings] == [(case, 1)], table(findings)
    assert "doing nothing" in findings[0].message


def test_lint_judges_the_net_change_of_a_turn(golden_suite: list[Conversation]) -> None:
    # A value changed and changed back within the turn nets to nothing: lint rejects it too.
    good = next(c for c in golden_suite if c.conversation_id == "golden-001-happy-modify-opportunity")
    turn = good.turns[0]
    there = turn.gold_calls[0]
    back = _set_to_current(good).turns[0].gold_calls[0]
    round_trip = good.model_copy(update={"turns": [turn.model_copy(update={"gold_calls": [there, back]})]})
    assert "no_change" in {f.check for f in lint([round_trip])}
