"""The reference (oracle) policy for ``CrmEnv`` built with ``reveal_reference=True``.

It replays each turn's gold calls (already resolved against the episode) and replies in plain English
with the turn's facts, explaining any refusal from the CRM's error message (the replay agent's wording,
``crm_env.agents.phrasing``). Tests and benchmarks use it to check that a perfect agent scores 100 %.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym

from crm_env.agents.names import NameBook
from crm_env.agents.phrasing import compose
from crm_env.agents.reply_view import ReplyContext
from crm_env.datasets.intents import TaskIntent


def oracle_reply(reference: dict[str, Any], errors: list[str], results: Sequence[Mapping[str, Any]] = (),
                 names: NameBook | None = None, utterance: str = "", key: str = "") -> str:
    """The correct reply to a turn: its facts in plain English or, for a refused request, why it was refused.

    ``results`` are the turn's tool results and ``names`` the records the policy saw (how it names them).
    """
    calls = reference["gold_calls"]
    context = ReplyContext(
        key=key or str(reference["turn_id"]), intent=TaskIntent(reference["intent"]),
        facts=tuple((f["label"], f["value"]) for f in reference["reply_facts"]), results=tuple(results),
        arguments=calls[-1]["arguments"] if calls else {}, error=errors[-1] if errors else None,
        names=names, utterance=utterance)
    return compose(context)


def run_oracle_episode(env: gym.Env, seed: int | None = None, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Play one episode with the oracle; returns the per-turn successes, rewards and steps."""
    obs, info = env.reset(seed=seed, options=options)
    names = NameBook()
    successes: list[bool] = []
    rewards: list[float] = []
    breakdowns: list[dict[str, Any]] = []
    steps = 0
    while True:
        reference = info["reference"]
        errors: list[str] = []
        results: list[dict[str, Any]] = []
        utterance = obs["user_message"]
        names.begin_turn(utterance)
        ended = False
        tool_errors = info["tool_errors"]
        for call in reference["gold_calls"]:
            obs, reward, terminated, truncated, info = env.step(json.dumps(call))
            steps += 1
            result = json.loads(obs["last_result"])
            if isinstance(result, dict) and result:
                results.append(result)
                if result.get("ok"):
                    names.learn(result.get("data"))
            if info["tool_errors"] > tool_errors:  # this call failed: keep why
                tool_errors = info["tool_errors"]
                if result.get("ok") is False:
                    errors.append(result["error"])
            if "reward_breakdown" in info:
                ended = True
                break
        if not ended:
            obs, reward, terminated, truncated, info = env.step(json.dumps({"respond": oracle_reply(
                reference, errors, results, names, utterance, f"{info['conversation_id']}:{reference['turn_id']}")}))
            steps += 1
        successes.append(info["turn_success"])
        rewards.append(reward)
        breakdowns.append(info["reward_breakdown"])
        if terminated or truncated:
            return {"successes": successes, "rewards": rewards, "steps": steps, "breakdowns": breakdowns,
                    "strict": info["strict_success_so_far"], "conversation_id": info["conversation_id"]}
