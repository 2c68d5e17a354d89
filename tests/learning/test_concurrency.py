"""Concurrent learning episodes (``crm_env.learning.schedule``): what an episode sees is fixed by ``--lag``,
so concurrency 8 writes the same bytes as concurrency 1, offline and with LLM teacher and judges against
the fake server; a resumed run may change the concurrency, not the lag."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from crm_env.cli.main import main
from crm_env.learning.judges import SYSTEM as JUDGE_SYSTEM
from crm_env.learning.llm_teacher import REFLECT_SYSTEM, REVIEW_SYSTEM
from tests.envs.helpers import datasets_available

pytestmark = pytest.mark.skipif(not datasets_available(), reason="packaged datasets not built")
FILES = ("events.jsonl", "memory.json", "summary.json")


def _same(a: Path, b: Path) -> None:
    for name in FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_concurrency_8_learns_the_same_bytes_as_1(tmp_path: Path) -> None:
    flags = ["learn", "run", "--lane", "adaptive", "--lag", "7", "--episodes", "120", "--no-progress"]
    assert main([*flags, "--concurrency", "1", "--output", str(tmp_path / "one")]) == 0
    assert main([*flags, "--concurrency", "8", "--output", str(tmp_path / "eight")]) == 0
    _same(tmp_path / "one", tmp_path / "eight")
    assert json.loads((tmp_path / "one" / "summary.json").read_text())["memory"]["version"] > 0


def test_the_lag_decides_what_an_episode_sees(tmp_path: Path) -> None:
    flags = ["learn", "run", "--episodes", "120", "--no-progress"]
    assert main([*flags, "--output", str(tmp_path / "lag0")]) == 0
    assert main([*flags, "--lag", "7", "--output", str(tmp_path / "lag7")]) == 0
    versions = {}
    for name in ("lag0", "lag7"):
        events = [json.loads(line) for line in (tmp_path / name / "events.jsonl").read_text().splitlines()]
        versions[name] = {e["episode_id"]: e["memory_version"] for e in events if e["kind"] == "guidance_injected"}
    ends = {}
    for line in (tmp_path / "lag7" / "events.jsonl").read_text().splitlines():
        event = json.loads(line)
        if event["kind"] == "episode_end":
            ends[event["episode"]] = event["memory_version"]
    for episode_id, version in versions["lag7"].items():  # the memory as it stood 8 episodes before
        index = int(episode_id.partition(":")[0])
        assert version == (ends[index - 8] if index >= 8 else 0), episode_id
    assert versions["lag0"] != versions["lag7"]


def test_a_resumed_run_may_change_the_concurrency_not_the_lag(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    whole, halves = tmp_path / "whole", tmp_path / "halves"
    flags = ["learn", "run", "--lane", "escalate", "--lag", "3", "--no-progress"]
    assert main([*flags, "--episodes", "60", "--output", str(whole)]) == 0
    assert main([*flags, "--episodes", "27", "--concurrency", "4", "--output", str(halves)]) == 0
    assert main([*flags[:-3], "--lag", "5", "--no-progress", "--episodes", "60", "--resume",
                 "--output", str(halves)]) == 2
    assert "--lag 5 (recorded: 3)" in capsys.readouterr().err
    assert main([*flags, "--episodes", "60", "--concurrency", "2", "--resume", "--output", str(halves)]) == 0
    _same(whole, halves)


providers = pytest.importorskip("tests.fakes.providers")


def _llm(provider: Any):  # type: ignore[no-untyped-def]
    """Teacher and judge answers that depend only on what they are shown (as a seeded model's would)."""
    def behaviour(body):  # type: ignore[no-untyped-def]
        system, shown = body["messages"][0]["content"], body["messages"][1]["content"]
        digest = hashlib.sha256(shown.encode()).digest()
        if system == REFLECT_SYSTEM:
            text = json.dumps({"entries": [{"keywords": ["quote"], "instruction": f"Check quote {digest[0]} first."}]})
        elif system == REVIEW_SYSTEM:
            text = json.dumps({"approve": digest[0] % 3 > 0, "reason": "looks off", "guidance": "Re-read the request."})
        else:
            assert system == JUDGE_SYSTEM
            text = json.dumps({"goal": round(digest[0] / 255, 2), "process": 1.0, "rationale": "ok"})
        return 200, {}, json.loads(provider._answer({"respond": text}))
    return behaviour


def test_llm_teacher_and_judges_cost_and_learn_the_same_at_any_concurrency(tmp_path: Path) -> None:
    with providers.FakeProvider("openai", model="gpt-4.1-mini") as provider:
        provider.default = _llm(provider)
        flags = ["learn", "run", "--teacher", "openai", "--teacher-base-url", provider.url, "--judge-model",
                 f"openai:gpt-4.1-nano@{provider.url}", "--judge-samples", "2", "--lane", "paired", "--lag", "3",
                 "--episodes", "24", "--no-progress"]
        assert main([*flags, "--concurrency", "1", "--output", str(tmp_path / "one")]) == 0
        assert main([*flags, "--concurrency", "4", "--output", str(tmp_path / "four")]) == 0
    _same(tmp_path / "one", tmp_path / "four")
    summary = json.loads((tmp_path / "one" / "summary.json").read_text())
    assert summary["cost_usd"]["teacher"] > 0 and summary["cost_usd"]["judge"] > 0
    assert summary["judges"]["turns_judged"] > 0 and summary["interventions"]["paired"]["writes_stopped"] > 0
