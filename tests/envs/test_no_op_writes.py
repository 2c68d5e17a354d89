"""Gold writes that change nothing are gone from the packaged data (generator v2, lint ``no_change``)."""

from __future__ import annotations

import json

import gymnasium as gym

import crm_env  # noqa: F401  (registers ArcCrm-v0)
from crm_env import datasets
from crm_env.envs.oracle import oracle_reply


def test_doing_nothing_on_the_formerly_no_op_write_fails() -> None:
    """arc-1200-00002 turn 4 once set a probability to the value it held (generator v1): doing nothing and
    claiming success passed. Regenerated, the write changes the deal, and doing nothing fails."""
    conversation = next(c for c in datasets.load("arc-crm-1200", allow_held_out=True) if c.conversation_id == "arc-1200-00002")
    env = gym.make("ArcCrm-v0", dataset=[conversation], reveal_reference=True)
    try:
        obs, info = env.reset(seed=0, options={"conversation_id": conversation.conversation_id})
        while True:
            reference = info["reference"]
            lazy = reference["turn_id"] == 4
            results = []
            for call in [] if lazy else reference["gold_calls"]:
                obs, _, _, _, info = env.step(json.dumps(call))
                results.append(json.loads(obs["last_result"]))
            reply = "Done: the probability is now 80%." if lazy else oracle_reply(reference, [], results)
            obs, _, terminated, _, info = env.step(json.dumps({"respond": reply}))
            if lazy:
                assert info["turn_success"] is False
                assert info["reward_breakdown"]["state"]["status"] == "fail"
                return
            assert info["turn_success"], info["reward_breakdown"]
            assert not terminated, "the conversation ended before turn 4"
    finally:
        env.close()
