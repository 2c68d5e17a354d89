"""Drive complete episodes of ``CrmEnv`` with an agent (shared by the agent and eval tests)."""

from __future__ import annotations

from typing import Any

from crm_env.agents.base import Agent


def run_episode(env: Any, agent: Agent, conversation_id: str, max_steps: int = 500) -> dict[str, Any]:
    """Play one conversation; returns per-turn successes, breakdowns, strict success and step count."""
    agent.reset(conversation_id)
    obs, info = env.reset(options={"conversation_id": conversation_id})
    successes: list[bool] = []
    breakdowns: list[dict[str, Any]] = []
    for step in range(1, max_steps + 1):
        obs, _reward, terminated, truncated, info = env.step(agent.act(obs))
        if "turn_success" in info:
            successes.append(bool(info["turn_success"]))
            breakdowns.append(info["reward_breakdown"])
        if terminated or truncated:
            return {"conversation_id": conversation_id, "successes": successes, "breakdowns": breakdowns,
                    "strict": bool(info["strict_success_so_far"]), "steps": step}
    raise AssertionError(f"episode {conversation_id} did not end in {max_steps} steps")


async def run_episode_async(env: Any, agent: Agent, conversation_id: str, max_steps: int = 500) -> dict[str, Any]:
    """``run_episode`` with ``act_async``."""
    agent.reset(conversation_id)
    obs, info = env.reset(options={"conversation_id": conversation_id})
    successes: list[bool] = []
    breakdowns: list[dict[str, Any]] = []
    for step in range(1, max_steps + 1):
        obs, _reward, terminated, truncated, info = env.step(await agent.act_async(obs))
        if "turn_success" in info:
            successes.append(bool(info["turn_success"]))
            breakdowns.append(info["reward_breakdown"])
        if terminated or truncated:
            return {"conversation_id": conversation_id, "successes": successes, "breakdowns": breakdowns,
                    "strict": bool(info["strict_success_so_far"]), "steps": step}
    raise AssertionError(f"episode {conversation_id} did not end in {max_steps} steps")
