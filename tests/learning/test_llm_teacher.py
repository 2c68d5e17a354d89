"""An LLM teacher (``crm_env.learning.llm_teacher``) in the loop: the real OpenAI SDK against the fake server
on 127.0.0.1. Its proposals become entries, its reviews stop writes, its replies that are not valid guidance
are kept as ``proposal_skipped`` events (never a crash), its calls are costed under the role ``teacher``, and
an outage stops the run for ``--resume``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crm_env.cli.main import main
from crm_env.learning.llm_teacher import REFLECT_SYSTEM, REVIEW_SYSTEM
from tests.envs.helpers import datasets_available

providers = pytest.importorskip("tests.fakes.providers")
pytestmark = pytest.mark.skipif(not datasets_available(), reason="packaged datasets not built")
MODEL = "gpt-4.1-mini"
TOO_LONG = "x" * 300


def _teacher(provider, answers: dict[str, str]):  # type: ignore[no-untyped-def]
    """A behaviour answering reflections and reviews with the texts given (by the kind of request)."""
    def behaviour(body):  # type: ignore[no-untyped-def]
        system = body["messages"][0]["content"]
        text = answers["reflect"] if system == REFLECT_SYSTEM else answers["review"] if system == REVIEW_SYSTEM \
            else answers.get("takeover", "Done.")  # the teacher playing a turn as an agent
        return 200, {}, json.loads(provider._answer({"respond": text}))
    return behaviour


def _run(provider, out: Path, *extra: str) -> int:  # type: ignore[no-untyped-def]
    return main(["learn", "run", "--teacher", "openai", "--teacher-model", MODEL, "--teacher-base-url", provider.url,
                 "--lane", "paired", "--episodes", "8", "--no-progress", "--output", str(out), *extra])


def test_an_llm_teacher_proposes_reviews_and_is_costed(tmp_path: Path) -> None:
    entries = {"entries": [
        {"keywords": ["quote"], "instruction": "Check the quote's status before changing it.",
         "expected_effect": "fewer wrong writes", "rationale": "a write went to the wrong quote"},
        {"keywords": ["deal"], "instruction": TOO_LONG},  # over the 200-character limit: skipped
        {"instruction": "No keywords: nothing to cue on."},  # skipped
    ]}
    review = {"approve": False, "reason": "the amount looks wrong", "guidance": "Use the amount the user gave."}
    out = tmp_path / "run"
    with providers.FakeProvider("openai", model=MODEL) as provider:
        provider.default = _teacher(provider, {"reflect": json.dumps(entries), "review": json.dumps(review)})
        assert _run(provider, out) == 0
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    proposals = [e for e in events if e["kind"] == "teacher_proposal"]
    skipped = [e for e in events if e["kind"] == "proposal_skipped"]
    stopped = [e for e in events if e["kind"] == "teacher_review" and not e["approved"]]
    assert proposals and all(e["teacher"] == "openai" and e["entry"]["cue"]["keywords"] == ["quote"] for e in proposals)
    assert len(skipped) == 2 * len(proposals) and all("does not validate" in e["cause"] for e in skipped)
    assert stopped and all(e["rule"] == "llm" and e["guidance"] == review["guidance"] for e in stopped)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["cost_usd"]["teacher"] > 0 and "student" not in summary["cost_usd"]  # the scripted student is free


def test_an_llm_teacher_takes_turns_over_in_the_escalate_lane(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with providers.FakeProvider("openai", model=MODEL) as provider:
        provider.default = _teacher(provider, {"reflect": '{"entries": []}', "review": '{"approve": true}',
                                               "takeover": "I have taken care of it."})
        assert main(["learn", "run", "--teacher", "openai", "--teacher-model", MODEL, "--teacher-base-url",
                     provider.url, "--lane", "escalate", "--episodes", "60", "--no-progress", "--output", str(out)]) == 0
        agent_requests = [r for r in provider.requests if r["messages"][0]["content"] not in (REFLECT_SYSTEM, REVIEW_SYSTEM)]
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    takeovers = [e for e in events if e["kind"] == "takeover"]
    assert takeovers and all(e["teacher"] == "openai" and not e["simulated"] for e in takeovers)
    assert len(agent_requests) == len(takeovers)  # one reply per taken-over turn, from the teacher's model
    assert all(r["model"] == MODEL and r.get("tools") for r in agent_requests)  # an agent, with the CRM's tools
    replies = [e for e in events if e["kind"] == "verdict" and e["actor"] == "teacher"]
    assert len(replies) == len(takeovers)
    reflect_calls = sum(r["messages"][0]["content"] == REFLECT_SYSTEM for r in provider.requests)
    assert json.loads((out / "summary.json").read_text())["cost_usd"]["teacher"] > 0
    usage = [e["usage"]["teacher"] for e in events if e["kind"] == "episode_end" and "teacher" in e["usage"]]
    assert sum(u["calls"] for u in usage) == reflect_calls + len(agent_requests)


def test_replies_that_are_not_json_are_skipped_never_a_crash(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with providers.FakeProvider("openai", model=MODEL) as provider:
        provider.default = _teacher(provider, {"reflect": "Sure! Here are some ideas: be careful.",
                                               "review": "I think it is fine?"})
        assert _run(provider, out) == 0
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    causes = [e["cause"] for e in events if e["kind"] == "proposal_skipped"]
    assert any("reply is not the JSON asked for" in c for c in causes)
    assert not any(e["kind"] == "teacher_proposal" for e in events)
    assert all(e["approved"] for e in events if e["kind"] == "teacher_review")  # an unreadable review approves


def test_a_teacher_outage_stops_the_run_and_resume_finishes_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    with providers.FakeProvider("openai", model=MODEL) as provider:
        provider.default = lambda body: (503, {}, {"error": {"message": "overloaded", "type": "server_error"}})
        assert _run(provider, out, "--timeout", "2") == 3
        assert "run again with --resume" in capsys.readouterr().err
        provider.default = _teacher(provider, {"reflect": '{"entries": []}', "review": '{"approve": true}'})
        assert _run(provider, out, "--resume") == 0
    assert json.loads((out / "summary.json").read_text())["episodes"] == 8


def test_a_missing_key_is_refused_before_anything_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    out = tmp_path / "run"
    assert main(["learn", "run", "--teacher", "claude", "--no-progress", "--output", str(out)]) == 2
    assert "ANTHROPIC_API_KEY" in capsys.readouterr().err and not out.exists()
