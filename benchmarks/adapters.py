"""RL-trainer adapters' overhead per step against ``CrmEnv.step`` (target ≤ 1.5×).

The oracle's actions on a sample of eval-400 are recorded once from ``CrmEnv`` (same conversation, same
seed, so the same ids), then replayed through each path, timing only the stepping: ``CrmEnv.step`` with the
``counts`` state view (what the adapters use), ``CrmTextSession.step``, the TRL adapter's tool methods and
``respond``, and the SkyRL adapter's ``step`` when ``skyrl-gym`` is installed.
"""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Callable
from typing import Any

from benchmarks.timing import Figure

SAMPLE = 100
ROUNDS = 3


def _record(conversations: list[Any]) -> list[tuple[str, int, list[str]]]:
    from crm_env.agents.replay import ReplayAgent
    from crm_env.envs.env import CrmEnv

    env = CrmEnv(dataset=conversations, split=None, state_view="counts")
    agent, episodes = ReplayAgent(conversations), []
    for seed, conv in enumerate(conversations):
        obs, _ = env.reset(seed=seed, options={"conversation_id": conv.conversation_id})
        agent.reset(conv.conversation_id)
        actions, done = [], False
        while not done:
            actions.append(agent.act(obs))
            obs, _, terminated, truncated, _ = env.step(actions[-1])
            done = terminated or truncated
        episodes.append((conv.conversation_id, seed, actions))
    env.close()
    return episodes


def _timed(episodes: list[tuple[str, int, list[str]]], start: Callable[[str, int], None],
           step: Callable[[str], Any]) -> float:
    """The best of ``ROUNDS`` of the total stepping time (starting an episode is not counted)."""
    best = float("inf")
    for _ in range(ROUNDS):
        total = 0.0
        for cid, seed, actions in episodes:
            start(cid, seed)
            began = time.perf_counter()
            for action in actions:
                step(action)
            total += time.perf_counter() - began
        best = min(best, total)
    return best


def run() -> list[Figure]:
    from crm_env.datasets import load
    from crm_env.envs.env import CrmEnv
    from crm_env.integrations.text import CrmTextSession
    from crm_env.integrations.trl import CrmToolEnv

    conversations = load("arc-crm-1200", split="eval-400")[:SAMPLE]
    episodes = _record(conversations)
    steps = sum(len(actions) for _, _, actions in episodes)
    env = CrmEnv(dataset=conversations, split=None, state_view="counts")
    direct = _timed(episodes, lambda cid, seed: env.reset(seed=seed, options={"conversation_id": cid}), env.step)
    session = CrmTextSession(conversations, None)
    text = _timed(episodes, lambda cid, seed: session.start(cid, seed=seed), session.step)
    tool_env = CrmToolEnv(conversations, None)

    def trl_step(action: str) -> None:
        parsed = json.loads(action)
        if "respond" in parsed:
            tool_env.respond(parsed["respond"])
        else:
            getattr(tool_env, parsed["tool"])(**parsed["arguments"])

    trl = _timed(episodes, lambda cid, seed: tool_env.reset(conversation_id=cid, seed=seed), trl_step)
    per = 1e6 / steps
    figures = [Figure(f"CrmEnv.step, counts view ({steps} oracle steps)", direct * per, "us/step",
                      higher_is_better=False),
               Figure("CrmTextSession.step vs CrmEnv.step", text / direct, "x", 1.5, higher_is_better=False),
               Figure("TRL CrmToolEnv tool call vs CrmEnv.step", trl / direct, "x", 1.5, higher_is_better=False)]
    if importlib.util.find_spec("skyrl_gym") is not None:
        from crm_env.integrations.skyrl import CrmSkyRLEnv

        holder: list[Any] = []

        def sky_start(cid: str, seed: int) -> None:
            if holder:
                holder[0].close()
            holder[:] = [CrmSkyRLEnv({"dataset": conversations, "split": None},
                                     {"conversation_id": cid, "seed": seed})]
            holder[0].init([])

        sky = _timed(episodes, sky_start, lambda action: holder[0].step(action))
        figures.append(Figure("SkyRL CrmSkyRLEnv.step vs CrmEnv.step", sky / direct, "x", 1.5,
                              higher_is_better=False))
    return figures
