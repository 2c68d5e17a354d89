"""The paired lane (``crm_env.learning.supervised``): the teacher reviews each proposed write before the CRM
sees it; a rejected write never reaches the CRM and the student retries once with the guidance."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import pytest

from crm_env.agents.scripted import MistakeRates, ScriptedAgent
from crm_env.cli.main import main
from crm_env.datasets.loader import load
from crm_env.learning.supervised import ReviewView, SupervisedAgent
from crm_env.learning.teacher import PlaceboTeacher, RuleTeacher
from crm_env.tools import get_spec
from tests.envs.helpers import datasets_available

pytestmark = pytest.mark.skipif(not datasets_available(), reason="packaged datasets not built")
ALWAYS_MISCASED = MistakeRates(**{**MistakeRates.none().__dict__, "enum_casing": 1.0, "recover": 0.0})


def _enum_write_conversations(n: int) -> list:  # type: ignore[type-arg]
    """Conversations whose every turn is a valid single write with an enum argument (a casing mistake
    is possible on each)."""
    out = []
    for conv in load("arc-crm-1200", split="train"):
        if all(t.expect_success and len(t.gold_calls) == 1 and t.is_write and any(
                isinstance(v, str) and v in get_spec(t.gold_calls[0].tool).parameters["properties"].get(k, {}).get("enum", ())
                for k, v in t.gold_calls[0].arguments.items()) for t in conv.turns):
            out.append(conv)
        if len(out) == n:
            break
    return out


def _play(conversations: list, teacher) -> tuple[list[dict], list[dict], list[ScriptedAgent]]:  # type: ignore[no-untyped-def,type-arg]
    """Every review, every result the CRM returned, and the students."""
    env = gym.make("ArcCrm-v0", dataset=conversations)
    results: list[dict] = []
    env.unwrapped.telemetry = lambda e: results.append(e) if e.get("event") == "tool_result" else None
    reviews: list[dict] = []
    students = []
    for conv in conversations:
        student = ScriptedAgent([conv], rates=ALWAYS_MISCASED, seed=3)
        students.append(student)
        agent = SupervisedAgent(student, teacher, reviews.append)
        obs, _ = env.reset(seed=0, options={"conversation_id": conv.conversation_id})
        agent.reset(conv.conversation_id)
        while True:
            obs, _, terminated, truncated, _ = env.step(agent.act(obs))
            if terminated or truncated:
                break
    env.close()
    return reviews, results, students


def test_a_miscased_write_is_stopped_before_the_crm_and_retried_with_guidance() -> None:
    conversations = _enum_write_conversations(12)
    assert len(conversations) == 12
    reviews, results, students = _play(conversations, RuleTeacher())
    stopped = [r for r in reviews if not r["approved"]]
    mistakes = [m for s in students for m in s.log if m.mistake == "enum_casing"]
    assert stopped and len(stopped) == len(mistakes)  # every miscased write was stopped
    assert all(r["rule"] == "casing" and "capitals" in r["guidance"] for r in stopped)
    assert not any("case-sensitive" in str(e.get("error")) for e in results)  # none reached the CRM
    recovered = sum(bool(m.recovered) for m in mistakes)
    # recover=0 alone never retries correctly; guidance that addresses casing gives 1 - 1 × 0.25 = 75 %
    assert 0.5 <= recovered / len(mistakes) <= 0.95
    assert all("enum_casing" in m.guided for m in mistakes if m.recovered)


def test_placebo_guidance_stops_the_same_writes_but_teaches_nothing() -> None:
    reviews, results, students = _play(_enum_write_conversations(6), PlaceboTeacher())
    assert [r for r in reviews if not r["approved"]]
    assert not any("case-sensitive" in str(e.get("error")) for e in results)
    assert not any(m.recovered for s in students for m in s.log)


def test_the_rule_teacher_approves_what_the_declaration_accepts() -> None:
    teacher = RuleTeacher()
    good = {"opportunity_id": "3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b", "stage": "Negotiation"}
    assert teacher.review(ReviewView("move it to negotiation", "modify_opportunity", good, ())) is None
    bad = teacher.review(ReviewView("", "modify_opportunity", {**good, "stage": "negotiation"}, ()))
    assert bad is not None and bad.rule == "casing"
    missing = teacher.review(ReviewView("", "modify_opportunity", {"stage": "Negotiation"}, ()))
    assert missing is not None and missing.rule == "missing_field"


def test_learn_run_in_the_paired_lane_records_every_review(tmp_path: Path) -> None:
    out = tmp_path / "paired"
    assert main(["learn", "run", "--lane", "paired", "--episodes", "30", "--no-progress", "--output", str(out)]) == 0
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    reviews = [e for e in events if e["kind"] == "teacher_review"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interventions"] == {"paired": {
        "turns": summary["turns"], "guided": summary["turns_with_guidance"], "writes_reviewed": len(reviews),
        "writes_stopped": sum(not e["approved"] for e in reviews), "taken_over": 0}}
    assert reviews and all(e["turn_id"] >= 1 and e["teacher"] == "rule" for e in reviews)
    stopped = [e for e in reviews if not e["approved"]]
    assert stopped and all(e["rule"] and e["guidance"] and e["reason"] for e in stopped)
