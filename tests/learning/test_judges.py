"""The learning reward's judge panel (``crm_env.learning.judges``): the rule in code, unusable replies
skipped with their cause, and ``learn run --judge-model`` with the real OpenAI SDK against the fake server."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from crm_env.cli.main import main
from crm_env.learning.judges import ARBITER, SPREAD, SYSTEM, JudgePanel
from crm_env.learning.schedule import TaggedCache
from crm_env.rewards.judge import Judge
from tests.envs.helpers import datasets_available

PASSED = {"state": {"status": "pass", "rationale": "ok"}, "reply": {"status": "undecided", "rationale": "?"}}
FAILED = {"state": {"status": "fail", "rationale": "the amount differs"}}


class _Client:
    """Answers each call with the next text of ``answers``."""

    def __init__(self, model: str, answers: list[str]) -> None:
        self.model = model
        self.answers = list(answers)
        self.prompts: list[tuple[str, str]] = []

    def complete(self, system: str, prompt: str) -> str:
        self.prompts.append((system, prompt))
        return self.answers.pop(0)


def _verdict(goal: float, process: float = 1.0) -> str:
    return json.dumps({"goal": goal, "process": process, "rationale": "seen"})


def _panel(answers: list[str], arbiter: list[str] | None = None, k: int = 3) -> tuple[JudgePanel, _Client, _Client]:
    judge, referee = _Client("small", answers), _Client("large", arbiter or [])
    cache: dict[str, Any] = {}
    return JudgePanel(Judge(judge, cache), k, Judge(referee, cache) if arbiter is not None else None), judge, referee


def test_a_turn_the_env_failed_stays_failed_and_costs_no_judge() -> None:
    panel, judge, _ = _panel([_verdict(1.0)] * 3)
    settled = panel.settle(False, FAILED, "prompt")
    assert not settled.success and not settled.samples and judge.prompts == []


def test_samples_decide_by_their_median() -> None:
    panel, judge, _ = _panel([_verdict(1.0), _verdict(0.9), _verdict(0.2, 0.0)])
    settled = panel.settle(True, PASSED, "prompt")
    assert [s.sample for s in settled.samples] == [0, 1, 2] and len(judge.prompts) == 3
    assert all(system == SYSTEM for system, _ in judge.prompts)
    assert settled.spread is not None and settled.spread > SPREAD and settled.arbiter is None  # none configured
    assert settled.success and settled.score == pytest.approx(0.93)  # the median of 1.0, 0.93, 0.14
    panel, _, _ = _panel([_verdict(0.5), _verdict(0.6), _verdict(0.4)])
    settled = panel.settle(True, PASSED, "prompt")  # the judges overrule the env's pass
    assert not settled.success and settled.score == pytest.approx(0.65)
    panel, _, _ = _panel([_verdict(1.0), _verdict(0.9), _verdict(0.8)])
    assert panel.settle(False, PASSED, "prompt").success  # an undecided env verdict is settled by the panel


def test_the_arbiter_decides_when_samples_disagree_beyond_the_spread() -> None:
    panel, _, referee = _panel([_verdict(1.0), _verdict(0.1, 0.0), _verdict(1.0)], arbiter=[_verdict(0.2)])
    settled = panel.settle(True, PASSED, "prompt")
    assert settled.arbiter is not None and settled.arbiter.sample == ARBITER and len(referee.prompts) == 1
    assert settled.score == settled.arbiter.score and not settled.success  # the median (1.0) would have passed
    panel, _, _ = _panel([_verdict(1.0), _verdict(0.1, 0.0), _verdict(1.0)])  # no arbiter: the median
    assert panel.settle(True, PASSED, "prompt").success


def test_replies_that_are_not_a_verdict_are_skipped_with_their_cause() -> None:
    panel, _, _ = _panel(["Looks great!", _verdict(0.1, 0.0), '{"goal": 2, "process": 1}'])
    settled = panel.settle(True, PASSED, "prompt")
    assert len(settled.samples) == 1 and not settled.success and len(settled.skipped) == 2
    assert "no JSON object" in settled.skipped[0] and "'goal' must be a number" in settled.skipped[1]
    panel, _, _ = _panel(["no", "no", "no"])
    settled = panel.settle(True, PASSED, "prompt")  # nothing usable: the env's verdict stands
    assert settled.success and settled.score is None and len(settled.skipped) == 3


def test_each_sample_is_cached_on_its_own_and_refilled_from_a_runs_grades() -> None:
    panel, judge, _ = _panel([_verdict(1.0), _verdict(0.5), _verdict(0.9)])
    first = panel.settle(True, PASSED, "prompt")
    again = panel.settle(True, PASSED, "prompt")
    assert len(judge.prompts) == 3 and [s.score for s in again.samples] == [s.score for s in first.samples]
    assert all(s.cached for s in again.samples)
    fresh, fresh_judge, _ = _panel([])
    shared = TaggedCache()
    for grade in first.samples:  # what a resumed run refills from its events
        shared.put(grade.key, 0, {"goal": grade.goal, "process": grade.process, "rationale": grade.rationale})
    fresh.use_cache(shared.view(5, 4))
    assert [s.score for s in fresh.settle(True, PASSED, "prompt").samples] == [s.score for s in first.samples]
    assert fresh_judge.prompts == []
    later, later_judge, _ = _panel([_verdict(0.3)] * 3)
    later.use_cache(shared.view(1, -1))  # episode 1 with lag 1: episode 0's grades are not yet its to see
    assert [s.score for s in later.settle(True, PASSED, "prompt").samples] != [s.score for s in first.samples]
    assert len(later_judge.prompts) == 3


providers = pytest.importorskip("tests.fakes.providers")
MODEL = "gpt-4.1-nano"


def _judging(provider: Any, texts: list[str]):  # type: ignore[no-untyped-def]
    """Judge requests get ``texts`` in turn (cycling); others (none expected) a plain reply."""
    count = [0]

    def behaviour(body):  # type: ignore[no-untyped-def]
        assert body["messages"][0]["content"] == SYSTEM
        text = texts[count[0] % len(texts)]
        count[0] += 1
        return 200, {}, json.loads(provider._answer({"respond": text}))
    return behaviour


@pytest.mark.skipif(not datasets_available(), reason="packaged datasets not built")
def test_learn_run_with_judges_records_grades_costs_and_skips(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with providers.FakeProvider("openai", model=MODEL) as provider:
        provider.default = _judging(provider, [_verdict(1.0), _verdict(0.2, 0.0), "not json at all"])
        flags = ["learn", "run", "--judge-model", f"openai:{MODEL}@{provider.url}", "--arbiter-model",
                 f"openai:{MODEL}@{provider.url}", "--episodes", "12", "--no-progress", "--output", str(out)]
        assert main(flags) == 0
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    panels = [e for e in events if e["kind"] == "judge_samples"]
    verdicts = {(e["episode_id"], e["turn_id"]): e for e in events if e["kind"] == "verdict"}
    assert panels
    for panel in panels:
        verdict = verdicts[(panel["episode_id"], panel["turn_id"])]
        assert verdict["judged"] == panel["success"]
        assert not any(c["status"] == "fail" for c in verdict["breakdown"].values())  # failed turns are not judged
    failed = [v for v in verdicts.values() if any(c["status"] == "fail" for c in v["breakdown"].values())]
    assert failed and all(v["judged"] is None for v in failed)
    skipped = [e for e in events if e["kind"] == "proposal_skipped" and e["teacher"] == "judge"]
    assert skipped and all("malformed judge verdict" in e["cause"] for e in skipped)
    assert any(p["arbiter"] for p in panels)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["judges"]["turns_judged"] == len(panels) and summary["judges"]["skipped"] == len(skipped)
    assert summary["cost_usd"]["judge"] > 0
    calls = sum(e["usage"]["judge"]["calls"] for e in events if e["kind"] == "episode_end" and "judge" in e["usage"])
    assert calls == len(provider.requests)


def _by_content(provider: Any):  # type: ignore[no-untyped-def]
    """A verdict that depends only on the turn shown (so a replayed turn gets the same one)."""
    def behaviour(body):  # type: ignore[no-untyped-def]
        digest = hashlib.sha256(body["messages"][1]["content"].encode()).digest()
        return 200, {}, json.loads(provider._answer({"respond": _verdict(0.9 if digest[0] % 2 else 0.5)}))
    return behaviour


@pytest.mark.skipif(not datasets_available(), reason="packaged datasets not built")
def test_a_judge_outage_stops_the_run_and_resume_grades_as_an_uninterrupted_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    whole, halves = tmp_path / "whole", tmp_path / "halves"
    with providers.FakeProvider("openai", model=MODEL) as provider:
        flags = ["learn", "run", "--judge-model", f"openai:{MODEL}@{provider.url}", "--judge-samples", "2",
                 "--no-progress", "--timeout", "2", "--episodes", "10"]
        working = _by_content(provider)
        provider.default = working
        assert main([*flags, "--output", str(whole)]) == 0
        judged = len(provider.requests)
        outage = (503, {}, {"error": {"message": "overloaded", "type": "server_error"}})
        provider.default = lambda body: working(body) if len(provider.requests) <= judged * 1.5 else outage
        assert main([*flags, "--output", str(halves)]) == 3  # down part-way through
        assert "run again with --resume" in capsys.readouterr().err
        assert 0 < sum(1 for line in (halves / "events.jsonl").read_text().splitlines()
                       if json.loads(line)["kind"] == "episode_end") < 10
        provider.default = working
        assert main([*flags, "--resume", "--output", str(halves)]) == 0
    assert (halves / "events.jsonl").read_text() == (whole / "events.jsonl").read_text()
