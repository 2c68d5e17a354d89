"""The learning loop and the uplift protocol with an LLM student: the real OpenAI SDK against the fake
provider server on 127.0.0.1 (answering as the oracle), tokens and dollars counted by role, and a budget
that stops a run part-way with every finished episode kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crm_env.cli.main import main
from crm_env.eval.config import RunConfig, select_conversations
from crm_env.learning.judges import SYSTEM as JUDGE_SYSTEM
from crm_env.learning.llm_teacher import REFLECT_SYSTEM, REVIEW_SYSTEM
from crm_env.learning.run import LearnConfig, load_stream, stream_order
from tests.envs.helpers import datasets_available
from tests.eval.helpers import correct_behaviour

providers = pytest.importorskip("tests.fakes.providers")
pytestmark = pytest.mark.skipif(not datasets_available(), reason="packaged datasets not built")
MODEL = "gpt-4.1-mini"  # priced in crm_env.eval.prices, so the spend is not zero


SECRET = "sk-ant-fake-key-that-must-never-be-written"


def _played() -> list:  # type: ignore[type-arg]
    """The conversations these runs play: the first train episodes of seed 0 and the seeded held-out sample
    (the fake knows a conversation by its opening request, which generated conversations may share)."""
    stream = load_stream(LearnConfig())
    return [stream_order(stream, 0, i) for i in range(8)] + select_conversations(RunConfig(split="test", sample=3,
                                                                                          seed=0))


@pytest.fixture(scope="module")
def server():  # type: ignore[no-untyped-def]
    with providers.FakeProvider("openai", model=MODEL) as provider:
        provider.default = correct_behaviour(provider, _played())
        yield provider


def _student(provider, kind: str = "openai", model: str = MODEL) -> list[str]:  # type: ignore[no-untyped-def]
    return ["--student", kind, "--model", model, "--base-url", provider.url, "--no-progress"]


def test_an_llm_student_learns_with_its_cost_by_role(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "learn"
    assert main(["learn", "run", *_student(server), "--episodes", "4", "--output", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["simulated"] is False and summary["turn_success"] == 1.0  # the fake answers as the oracle
    assert summary["cost_usd"]["student"] > 0
    ends = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()
            if '"episode_end"' in line]
    assert len(ends) == 4 and all(e["usage"]["student"]["calls"] > 0 for e in ends)
    assert "127.0.0.1" in json.loads((out / "run.json").read_text())["config"]["base_url"]


def test_an_llm_student_teacher_and_judge_in_one_loop_are_costed_by_role(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    def supervisor(body):  # type: ignore[no-untyped-def]
        system = body["messages"][0]["content"]
        text = {REFLECT_SYSTEM: '{"entries": []}', REVIEW_SYSTEM: '{"approve": true}'}.get(
            system, '{"goal": 1, "process": 1, "rationale": "done as asked"}')
        return 200, {}, json.loads(other._answer({"respond": text}))

    out = tmp_path / "learn"
    with providers.FakeProvider("openai", model=MODEL) as other:
        other.default = supervisor
        assert main(["learn", "run", *_student(server), "--teacher", "openai", "--teacher-base-url", other.url,
                     "--judge-model", f"openai:{MODEL}@{other.url}", "--lane", "paired", "--episodes", "4",
                     "--output", str(out)]) == 0
        systems = [r["messages"][0]["content"] for r in other.requests]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["simulated"] is False and summary["turn_success"] == 1.0
    assert all(summary["cost_usd"][role] > 0 for role in ("student", "teacher", "judge"))
    assert systems.count(REVIEW_SYSTEM) == summary["interventions"]["paired"]["writes_reviewed"] > 0
    assert systems.count(JUDGE_SYSTEM) == summary["judges"]["samples"] == 3 * summary["judges"]["turns_judged"]
    ends = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines() if '"episode_end"' in line]
    assert sum(e["usage"]["teacher"]["calls"] + e["usage"]["judge"]["calls"] for e in ends) == len(systems)


def test_a_budget_stops_learning_between_episodes_and_resume_continues(server, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "learn"
    assert main(["learn", "run", *_student(server), "--episodes", "6", "--budget-usd", "0.001",
                 "--output", str(out)]) == 0
    first = json.loads((out / "summary.json").read_text())
    assert first["stopped_by_budget"] and 1 <= first["episodes"] < 6
    assert first["cost_usd"]["student"] <= 0.001 + first["cost_usd"]["student"] / first["episodes"]
    assert "stopped: the next episode would pass --budget-usd" in capsys.readouterr().out
    assert main(["learn", "run", *_student(server), "--episodes", "6", "--budget-usd", "1", "--resume",
                 "--output", str(out)]) == 0
    assert json.loads((out / "summary.json").read_text())["episodes"] == 6


def test_the_protocol_runs_end_to_end_with_an_llm_student(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "uplift"
    flags = ["--orderings", "1", "--episodes", "3", "--trials", "1", "--sample", "3", "--ablate", "1", "--probe", "0"]
    assert main(["learn", "evaluate", *_student(server), *flags, "--output", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["simulated"] is False
    frozen = summary["uplift"]["strict"]["frozen"]
    assert frozen["baseline"] == frozen["treated"] == 1.0 and frozen["conversations"] == 3  # oracle both ways
    costs = summary["cost_usd"]["by_phase"]
    assert all(sum(costs[phase].values()) > 0 for phase in ("baseline", "frozen-0", "placebo-0"))
    report = (out / "report.md").read_text()
    assert not report.startswith("**SIMULATED")
    assert "![cost_curve.png](cost_curve.png)" in report and (out / "cost_curve.png").read_bytes()[:4] == b"\x89PNG"
    assert f"| baseline | agent | {costs['baseline']['agent']:.4f} |" in report
    assert main(["learn", "bundle", str(out), str(tmp_path / "b.tar.gz")]) == 0
    assert main(["learn", "verify", str(tmp_path / "b.tar.gz")]) == 0


def test_a_protocol_over_budget_stops_with_exit_3_and_resumes(server, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "uplift"
    flags = ["--orderings", "1", "--episodes", "3", "--trials", "1", "--sample", "3", "--ablate", "0", "--probe", "0"]
    assert main(["learn", "evaluate", *_student(server), *flags, "--budget-usd", "0.002", "--output", str(out)]) == 3
    assert "--budget-usd is spent" in capsys.readouterr().err
    assert not (out / "summary.json").exists()
    assert main(["learn", "evaluate", *_student(server), *flags, "--budget-usd", "5", "--resume",
                 "--output", str(out)]) == 0
    assert json.loads((out / "summary.json").read_text())["uplift"]["strict"]["frozen"]["conversations"] == 3


def test_the_protocol_runs_with_a_claude_student_and_writes_no_key(tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    out = tmp_path / "uplift"
    flags = ["--orderings", "1", "--episodes", "3", "--trials", "1", "--sample", "3", "--ablate", "0", "--probe", "0"]
    with providers.FakeProvider("anthropic", model="claude-haiku-4-5") as provider:
        provider.default = correct_behaviour(provider, _played())
        assert main(["learn", "evaluate", *_student(provider, "claude", "claude-haiku-4-5"), *flags,
                     "--output", str(out)]) == 0
        sent = [{k.lower(): v for k, v in h.items()} for h in provider.headers]  # the real SDK sent the key
        assert sent and all(h.get("x-api-key") == SECRET or h.get("authorization") == f"Bearer {SECRET}" for h in sent)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["uplift"]["strict"]["frozen"]["conversations"] == 3
    assert sum(summary["cost_usd"]["by_phase"]["baseline"].values()) > 0
    for path in out.rglob("*"):
        assert not path.is_file() or SECRET.encode() not in path.read_bytes(), path
