"""The escalate lane (``crm_env.learning.escalate``): after the student's repeated failure on a cue the
teacher takes the next such turn over; the student gets the cue back after it; each actor is kept in step
with the turns it did not play; a resumed run decides as an uninterrupted one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest

from crm_env.agents.replay import ReplayAgent
from crm_env.agents.scripted import MistakeRates, ScriptedAgent
from crm_env.cli.main import main
from crm_env.datasets.loader import load
from crm_env.envs.env import CrmEnv
from crm_env.learning.escalate import ESCALATE_AFTER, Escalation, TakeoverAgent
from crm_env.learning.loop import LearningLoop
from crm_env.learning.memory import PlaybookState
from crm_env.learning.teacher import RuleTeacher
from tests.envs.helpers import datasets_available

pytestmark = pytest.mark.skipif(not datasets_available(), reason="packaged datasets not built")
ALWAYS_MISCASED = MistakeRates(**{**MistakeRates.none().__dict__, "enum_casing": 1.0, "recover": 0.0})


def _referencing(n: int) -> list[Any]:
    """Conversations with a later turn whose gold call names a record an earlier turn produced."""
    found = [c for c in load("arc-crm-1200", split="train") if any(
        "{{turn_" in json.dumps(g.arguments) for t in c.turns[1:] for g in t.gold_calls)]
    return found[:n]


def test_escalation_counts_consecutive_student_failures_per_cue() -> None:
    escalation, cue = Escalation(), ("quote", "status")
    for _ in range(ESCALATE_AFTER):
        assert not escalation.due(cue)
        escalation.record(cue, False, taken_over=False)
    assert escalation.due(cue) and not escalation.due(("deal",))
    escalation.record(cue, True, taken_over=True)  # the teacher's turn: the student gets the cue back
    assert not escalation.due(cue)
    escalation.record(cue, False, taken_over=False)
    escalation.record(cue, True, taken_over=False)  # a success breaks the run of failures
    escalation.record(cue, False, taken_over=False)
    assert not escalation.due(cue)


def _play_taken_over(conv: Any, expert: Any, turns: set[int], requests: list[str] | None = None) -> list[bool]:
    """Each turn's success when ``expert`` plays ``turns`` (by index) and a flawless student the rest
    (the user's messages as the env sent them go to ``requests``)."""
    env = gym.make("ArcCrm-v0", dataset=[conv])
    agent = TakeoverAgent(ReplayAgent([conv]), expert)
    obs, _ = env.reset(seed=0, options={"conversation_id": conv.conversation_id})
    agent.reset(conv.conversation_id)
    out = []
    while True:
        agent.taking_over = int(obs["turn"]) in turns
        if requests is not None and obs["user_message"] not in requests:
            requests.append(str(obs["user_message"]))
        obs, _, terminated, truncated, info = env.step(agent.act(obs))
        if "turn_success" in info:
            out.append(bool(info["turn_success"]))
        if terminated or truncated:
            break
    env.close()
    return out


def test_ids_the_student_created_flow_into_the_teachers_turns_and_back() -> None:
    for conv in _referencing(5):
        alternate = {i for i in range(len(conv.turns)) if i % 2}  # the teacher plays every other turn
        assert _play_taken_over(conv, ReplayAgent([conv]), alternate) == _play_taken_over(conv, ReplayAgent([conv]), set())


class _Recorder:
    """An agent without ``witness`` (as an LLM agent): it records what it is shown and replies."""

    name, simulated = "recorder", False

    def __init__(self) -> None:
        self.seen: list[str] = []

    def reset(self, conversation_id: str | None = None) -> None:
        self.seen.clear()

    def act(self, observation: dict[str, Any]) -> str:
        self.seen.append(str(observation.get("user_message")))
        return json.dumps({"respond": "Done."})

    def drain_calls(self) -> list[Any]:
        return []


def test_an_actor_without_witness_is_briefed_with_what_it_missed() -> None:
    conv = _referencing(1)[0]
    expert, requests = _Recorder(), []
    _play_taken_over(conv, expert, {2}, requests)
    assert len(expert.seen) == 1
    brief = expert.seen[0]
    assert brief.startswith("Another assistant handled part of this conversation")
    for request in requests[:2]:
        assert f"User: {request}" in brief
    assert "Assistant called: " in brief and "Result: " in brief and "Assistant replied: " in brief
    assert brief.endswith(f"The user's request now: {requests[2]}")


def test_the_teacher_takes_over_after_repeated_failure_and_hands_the_cue_back() -> None:
    conversations = [c for c in load("arc-crm-1200", split="train")
                     if all(t.expect_success and t.is_write for t in c.turns)][:80]
    env = CrmEnv(dataset=conversations, split=None, conversation_seed=None)
    loop = LearningLoop(env, lambda conv, seed: ScriptedAgent([conv], rates=ALWAYS_MISCASED, seed=seed),
                        RuleTeacher(), lane="escalate")
    state, events = PlaybookState(), []
    for index, conv in enumerate(conversations):
        record = loop.episode(index, conv, index, state, len(events))
        events += record.events
        state = record.state
    env.close()
    failures: dict[tuple[str, ...], int] = {}
    taken = {(e.episode_id, e.turn_id) for e in events if e.kind == "takeover"}
    cue_of = {(e.episode_id, e.turn_id): tuple(e.cue) for e in events if e.kind == "guidance_injected"}
    teacher_turns = []
    for verdict in (e for e in events if e.kind == "verdict"):
        key = (verdict.episode_id, verdict.turn_id)
        cue = cue_of[key]
        assert (key in taken) == (failures.get(cue, 0) >= ESCALATE_AFTER), key  # exactly when due
        assert verdict.actor == ("teacher" if key in taken else "student")
        if key in taken:
            teacher_turns.append(verdict)
        failures[cue] = 0 if key in taken or verdict.success else failures.get(cue, 0) + 1
    assert len(teacher_turns) >= 8
    assert sum(v.success for v in teacher_turns) >= 0.9 * len(teacher_turns)  # the simulated expert's turns
    guidance = [e for e in events if e.kind == "guidance_injected" and (e.episode_id, e.turn_id) in taken]
    assert all(not g.entry_ids and not g.withheld for g in guidance)  # nothing for the student on them
    assert all(t.simulated and t.teacher == "rule" for t in events if t.kind == "takeover")


def test_learn_run_counts_takeovers_and_resumes_identically(tmp_path: Path) -> None:
    whole, halves = tmp_path / "whole", tmp_path / "halves"
    flags = ["learn", "run", "--lane", "escalate", "--no-progress"]
    assert main([*flags, "--episodes", "80", "--output", str(whole)]) == 0
    events = [json.loads(line) for line in (whole / "events.jsonl").read_text().splitlines()]
    summary = json.loads((whole / "summary.json").read_text())
    takeovers = [e for e in events if e["kind"] == "takeover"]
    assert takeovers and summary["interventions"]["escalate"]["taken_over"] == len(takeovers)
    student = [e["success"] for e in events if e["kind"] == "verdict" and e["actor"] == "student"]
    assert summary["student_turn_success"] == sum(student) / len(student)
    assert main([*flags, "--episodes", "33", "--output", str(halves)]) == 0
    assert main([*flags, "--episodes", "80", "--resume", "--output", str(halves)]) == 0
    assert (halves / "events.jsonl").read_bytes() == (whole / "events.jsonl").read_bytes()
