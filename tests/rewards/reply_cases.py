"""Plays the hand-labelled reply cases of ``../shared/data/reply_cases_dev*.jsonl`` (format in
``reply_cases.md``): earlier turns with the replay oracle, the target turn's actions, then the case's reply."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym

import crm_env  # noqa: F401  (registers ArcCrm-v0)
from crm_env.agents.replay import ReplayAgent
from crm_env.datasets.format import Conversation

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
CASE_FILES = ("reply_cases_dev.jsonl", "reply_cases_dev2.jsonl")  # written in different styles
CASES = DATA / CASE_FILES[0]


@dataclass(frozen=True)
class Played:
    case: dict[str, Any]
    success: bool
    breakdown: dict[str, Any]
    context_ok: bool  # earlier turns succeeded and the target's gold calls behaved as the case expects

    @property
    def agrees(self) -> bool:
        return (self.case["label"] == "pass") == self.success


def load_cases(path: Path = CASES) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def play(case: dict[str, Any], judge: Any = None) -> Played:
    conv = Conversation.model_validate(case["conversation"])
    env = gym.make("ArcCrm-v0", dataset=[conv], judge=judge).unwrapped
    agent = ReplayAgent([conv])
    try:
        obs, info = env.reset(seed=0, options={"conversation_id": conv.conversation_id})
        agent.reset(conv.conversation_id)
        target = case["turn"] - 1
        context_ok = True
        while True:
            if int(obs["turn"]) == target:
                return _target(env, agent, obs, case, conv, context_ok)
            obs, _, terminated, _, info = env.step(agent.act(obs))
            if "turn_success" in info:
                context_ok = context_ok and info["turn_success"]
            if terminated:
                raise AssertionError(f"{case['case_id']}: episode ended before turn {case['turn']}")
    finally:
        env.close()


def _target(env: Any, agent: ReplayAgent, obs: dict[str, Any], case: dict[str, Any], conv: Conversation,
            context_ok: bool) -> Played:
    turn = conv.turns[case["turn"] - 1]
    results: list[dict[str, Any]] = []
    if case["actions"] == "gold":
        while True:
            action = json.loads(agent.act(obs))
            if "respond" in action:
                break
            obs, _, _, _, info = env.step(json.dumps(action))
            results.append(json.loads(obs["last_result"]))
    else:
        for action in case["actions"]:
            obs, _, _, _, info = env.step(json.dumps(action))
            results.append(json.loads(obs["last_result"]))
    if case["actions"] == "gold" and results:
        if turn.expect_success:
            context_ok = context_ok and all(r.get("ok") for r in results)
        else:
            context_ok = context_ok and results[-1].get("ok") is False \
                and results[-1].get("error_type") == turn.expected_error
    _, _, _, _, info = env.step(json.dumps({"respond": case["reply"]}))
    return Played(case, bool(info["turn_success"]), info["reward_breakdown"], context_ok)
