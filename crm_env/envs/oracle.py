"""The reference (oracle) policy for ``CrmEnv`` built with ``reveal_reference=True``.

It replays each turn's gold calls (already resolved against the episode) and replies with the turn's
facts, explaining any refusal with the CRM's error message. Tests and benchmarks use it to check that a
perfect agent scores 100 %.
"""

from __future__ import annotations

import json
from typing import Any

import gymnasium as gym


def oracle_reply(reference: dict[str, Any], errors: list[str]) -> str:
    """A reply that states the turn's facts and, for a refused request, why it was refused."""
    parts = [f"{fact['label'].replace('_', ' ')}: {fact['value']}" for fact in reference["reply_facts"]]
    if errors:
        parts.append(f"I could not do that: {errors[-1]}")
    return "Done. " + "; ".join(parts) if parts else "Done."


def run_oracle_episode(env: gym.Env, seed: int | None = None, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Play one episode with the oracle; returns the per-turn successes, rewards and steps."""
    obs, info = env.reset(seed=seed, options=options)
    successes: list[bool] = []
    rewards: list[float] = []
    breakdowns: list[dict[str, Any]] = []
    steps = 0
    while True:
        reference = info["reference"]
        errors: list[str] = []
        ended = False
        tool_errors = info["tool_errors"]
        for call in reference["gold_calls"]:
            obs, reward, terminated, truncated, info = env.step(json.dumps(call))
            steps += 1
            if info["tool_errors"] > tool_errors:  # this call failed: read why (results are not parsed otherwise)
                tool_errors = info["tool_errors"]
                result = json.loads(obs["last_result"])
                if result.get("ok") is False:
                    errors.append(result["error"])
            if "reward_breakdown" in info:
                ended = True
                break
        if not ended:
            obs, reward, terminated, truncated, info = env.step(json.dumps({"respond": oracle_reply(reference, errors)}))
            steps += 1
        successes.append(info["turn_success"])
        rewards.append(reward)
        breakdowns.append(info["reward_breakdown"])
        if terminated or truncated:
            return {"successes": successes, "rewards": rewards, "steps": steps, "breakdowns": breakdowns,
                    "strict": info["strict_success_so_far"], "conversation_id": info["conversation_id"]}
