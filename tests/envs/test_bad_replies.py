"""Replies no checker expects (empty, a megabyte, binary-looking, not English) get a verdict with a rationale,
never an exception, and the same verdict every time."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.envs.helpers import FIXTURE_IDS, make

BAD_REPLIES = {
    "empty": "",
    "whitespace": " \n\t ",
    "one megabyte": "Acme Corp $1,000 2026-01-01 not Draft, " * 26_000,
    "binary-looking": "".join(chr(c) for c in range(0, 256)) * 8,
    "not English": "Заявка выполнена: сумма 529 500 ₽, статус — черновик. 已完成。",
    "lone surrogates and nulls": "\udcff\x00\ufffd" * 100,
}


def _verdict(reply: str, conversation_id: str) -> dict[str, Any]:
    env = make(reveal_reference=True)
    try:
        obs, info = env.reset(seed=0, options={"conversation_id": conversation_id})
        for call in info["reference"]["gold_calls"]:
            obs, _, _, _, info = env.step(json.dumps(call))
        obs, reward, _, _, info = env.step(json.dumps({"respond": reply}))
        return {"success": info["turn_success"], "reward": reward, "breakdown": info["reward_breakdown"]}
    finally:
        env.close()


@pytest.mark.parametrize("name", BAD_REPLIES)
@pytest.mark.parametrize("conversation_id", FIXTURE_IDS[:2])
def test_bad_replies_get_a_failing_verdict_with_a_rationale(name: str, conversation_id: str) -> None:
    verdict = _verdict(BAD_REPLIES[name], conversation_id)
    assert verdict["success"] is False and verdict["reward"] == 0.0
    text = [c for c in ("reply", "refusal") if verdict["breakdown"][c]["status"] not in ("pass", "n/a")]
    assert text, verdict["breakdown"]
    for component in text:
        assert verdict["breakdown"][component]["status"] in ("fail", "undecided")
        assert verdict["breakdown"][component]["rationale"]
    assert _verdict(BAD_REPLIES[name], conversation_id) == verdict
