"""The adaptive lane (``crm_env.learning.adaptive``): supervision follows the student's recent success per
cue, a drop in it raises a drift note, and a resumed run decides as an uninterrupted one."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from crm_env.cli.main import main
from crm_env.learning.adaptive import (
    DRIFT_TURNS,
    ESCALATE_BELOW,
    MIN_TURNS,
    SUPERVISE_BELOW,
    WINDOW,
    AdaptivePolicy,
)
from tests.envs.helpers import datasets_available

CUE = ("quote", "status")


def test_supervision_follows_the_success_of_each_cue() -> None:
    policy = AdaptivePolicy()
    assert policy.decide(CUE).lane == "coach" and "no estimate" in policy.decide(CUE).why
    for success in [False, True] * MIN_TURNS:  # 50 %: below the threshold
        policy.record(CUE, success)
    assert policy.decide(CUE).lane == "paired" and policy.decide(CUE).rate == 0.5
    for _ in range(WINDOW):  # 0 %: the teacher takes turns over after repeated failure
        policy.record(CUE, False)
    assert policy.decide(CUE).lane == "escalate" and policy.decide(CUE).rate < ESCALATE_BELOW
    for _ in range(WINDOW):
        policy.record(CUE, True)
    assert policy.decide(CUE).lane == "coach" and policy.decide(CUE).rate >= SUPERVISE_BELOW
    assert policy.decide(("deal",)).lane == "coach"  # cues are kept apart


def test_a_drop_raises_one_drift_note_and_supervises_that_cue() -> None:
    policy = AdaptivePolicy()
    notes = [policy.record(CUE, True) for _ in range(WINDOW)]
    notes += [policy.record(CUE, i % 2 == 0) for i in range(WINDOW)]  # 100 % -> 50 %
    drifts = [n for n in notes if n is not None]
    assert len(drifts) == 1 and drifts[0].previous > drifts[0].recent and drifts[0].z <= -3.0
    decision = policy.decide(CUE)
    assert decision.lane == "paired" and "drift" in decision.why
    for _ in range(DRIFT_TURNS):
        policy.record(CUE, True)
    assert "drift" not in policy.decide(CUE).why


def test_a_steady_student_raises_no_drift() -> None:
    rng = random.Random(11)
    policy = AdaptivePolicy()
    assert sum(policy.record(CUE, rng.random() < 0.8) is not None for _ in range(500)) <= 1


@pytest.mark.skipif(not datasets_available(), reason="packaged datasets not built")
def test_learn_run_reviews_only_the_turns_it_supervises_and_resumes_identically(tmp_path: Path) -> None:
    whole, halves = tmp_path / "whole", tmp_path / "halves"
    flags = ["learn", "run", "--lane", "adaptive", "--no-progress"]
    assert main([*flags, "--episodes", "60", "--output", str(whole)]) == 0
    events = [json.loads(line) for line in (whole / "events.jsonl").read_text().splitlines()]
    decisions = {(e["episode_id"], e["turn_id"]): e for e in events if e["kind"] == "lane_decision"}
    verdicts = [e for e in events if e["kind"] == "verdict"]
    assert len(decisions) == len(verdicts)  # one decision per turn
    for d in decisions.values():
        expected = "paired" if "drift" in d["why"] or (d["turns"] >= MIN_TURNS and d["rate"] < SUPERVISE_BELOW) \
            else "coach"
        if d["turns"] >= MIN_TURNS and d["rate"] < ESCALATE_BELOW:
            expected = "escalate"
        assert d["lane"] == expected, d
    assert any(d["lane"] == "paired" for d in decisions.values())
    reviewed = {(e["episode_id"], e["turn_id"]) for e in events if e["kind"] == "teacher_review"}
    assert reviewed and all(decisions[key]["lane"] == "paired" for key in reviewed)
    assert main([*flags, "--episodes", "25", "--output", str(halves)]) == 0
    assert main([*flags, "--episodes", "60", "--resume", "--output", str(halves)]) == 0
    assert (halves / "events.jsonl").read_bytes() == (whole / "events.jsonl").read_bytes()
