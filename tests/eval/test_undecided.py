"""Undecided checks in a run's summary: how many turns the deterministic reward left open, what the judge
made of them, audit vetoes; in summary.json (numbers as numbers), report.md and the console line.

Judges are the fake OpenAI-compatible server of ``tests.fakes.providers``; never a real LLM.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from crm_env.agents.replay import ReplayAgent
from crm_env.cli.main import main
from crm_env.datasets import dump, load
from crm_env.eval.config import RunConfig
from crm_env.eval.job import finish, headline_text, run_eval
from crm_env.eval.metrics import UNDECIDED_OUTCOMES
from crm_env.eval.results import ResultLine, ResultsWriter, TurnRecord, load_results
from crm_env.rewards.ensemble import DECISIVE
from tests.eval.helpers import VagueReplay, undecidable_replies
from tests.fakes.providers import FakeProvider

PASS = '{"goal": 1, "process": 1, "rationale": "answers it"}'
FAIL = '{"goal": 0.1, "process": 0.4, "rationale": "wrong"}'


# ---------------------------------------------------------------------- hand-built result lines
def _c(status: str, *, undecided: bool = False, **details: Any) -> dict[str, Any]:
    score = {"pass": 1.0, "fail": 0.0, "undecided": 0.0}.get(status)
    return {"status": status, "score": score, "rationale": status,
            "details": {**details, **({"undecided": True} if undecided else {})}}


def _turn(turn_id: int, success: bool, **components: dict[str, Any]) -> TurnRecord:
    breakdown = {"state": _c("pass"), "retrieval": _c("n/a"), "refusal": _c("n/a"), "reply": _c("pass"),
                 **components}
    return TurnRecord(turn_id=turn_id, intent="UPDATE OPPORTUNITY", failure_category=None, expect_success=True,
                      is_write=True, steps=[], reply="", success=success, shaped_reward=float(success),
                      tool_errors=0, judge_error=False, breakdown=breakdown, latency_s=0.01)


TURNS = [
    _turn(1, True),                                                                 # plain pass
    _turn(2, False, reply=_c("undecided", undecided=True)),                         # open, all else passed
    _turn(3, False, state=_c("fail"), reply=_c("undecided", undecided=True)),       # open, state failed
    _turn(4, True, reply=_c("pass", undecided=True), judge=_c("pass", audit=False)),     # judge passed it
    _turn(5, False, refusal=_c("fail", undecided=True), judge=_c("fail", audit=False)),  # judge failed it
    _turn(6, False, judge=_c("fail", audit=True, veto=True)),                       # an audit veto
    _turn(7, True, judge=_c("pass", audit=True, veto=False)),                       # an audit that kept the pass
]


def _write(run_dir: Path, turns: list[TurnRecord]) -> None:
    run_dir.mkdir()
    writer = ResultsWriter(run_dir / "results.jsonl")
    writer.append(ResultLine(conversation_id="c1", trial=0, status="completed", workflow="w", complexity="simple",
                             n_turns=len(turns), seed=1, session="s", started_at=0.0, finished_at=1.0, latency_s=1.0,
                             strict_success=all(t.success for t in turns), turns=turns))
    writer.close()


def test_undecided_counts_match_a_hand_count_in_summary_report_and_console(tmp_path: Path) -> None:
    _write(tmp_path / "run", TURNS)
    summary = finish(tmp_path / "run")
    block = summary["undecided"]
    # turns 2, 3, 4 and 5 had an undecided component; 2 and 3 stayed so; 4 passed, 5 failed by the judge;
    # 2, 4 and 5 passed every other check; had a judge passed 2 and 5, 1, 4, 7 + 2, 5 would succeed
    assert block["turns"] == {"undecided": 4, "judge_passed": 1, "judge_failed": 1, "unjudged": 2,
                              "all_else_passed": 3}
    assert block["by_component"]["reply"] == {"undecided": 3, "judge_passed": 1, "judge_failed": 0, "unjudged": 2}
    assert block["by_component"]["refusal"] == {"undecided": 1, "judge_passed": 0, "judge_failed": 1, "unjudged": 0}
    assert block["by_component"]["state"]["undecided"] == block["by_component"]["retrieval"]["undecided"] == 0
    assert block["share_of_turns"] == pytest.approx(4 / 7) and block["turn_success_if_judge_passes_all"] == pytest.approx(5 / 7)
    assert summary["turn_success"]["value"] == pytest.approx(3 / 7)
    judge = summary["judge"]
    assert (judge["turns_consulted"], judge["audited"], judge["vetoes"]) == (4, 2, 1)
    on_disk = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert on_disk["undecided"] == block and isinstance(on_disk["undecided"]["turns"]["undecided"], int)
    report = (tmp_path / "run" / "report.md").read_text()
    assert "## Undecided checks and the judge" in report
    assert all(label in report for label in UNDECIDED_OUTCOMES.values())
    assert "| turns (any component) | 4 | 1 | 1 | 2 |" in report and "| reply | 3 | 1 | 0 | 2 |" in report
    assert "2 turn(s) audited, 1 vetoed" in report and "71.4 %" in report
    console = headline_text(summary)
    assert "undecided        4 turn(s) (57.1 %): refusal 1, reply 3; judge passed 1, failed 1" in console
    assert "judge audit      2 passing turn(s) audited, 1 vetoed" in console


def test_a_run_without_undecided_turns_says_zero(tmp_path: Path) -> None:
    _write(tmp_path / "run", [TURNS[0]])
    summary = finish(tmp_path / "run")
    assert summary["undecided"]["turns"]["undecided"] == 0 and summary["undecided"]["share_of_turns"] == 0.0
    assert "undecided        0 turn(s) (0.0 %)" in headline_text(summary)
    assert "judge audit" not in headline_text(summary)


# ---------------------------------------------------------------------- whole runs
def _convs(tmp_path: Path, n: int) -> tuple[Path, list]:
    convs = load("arc-crm-1200", split="eval-400")[:n]
    return dump(convs, tmp_path / "convs.jsonl"), convs


def _recount(run_dir: Path) -> dict[str, int]:
    """Count from the result lines' statuses, independently of the metrics module."""
    counts = {"undecided": 0, "judge_passed": 0, "judge_failed": 0, "unjudged": 0, "state_failed": 0}
    for line in load_results(run_dir / "results.jsonl").lines.values():
        for turn in line.turns:
            open_ = [c for c in turn.breakdown.values() if c.status == "undecided" or c.details.get("undecided")]
            if open_:
                counts["undecided"] += 1
                counts[{"pass": "judge_passed", "fail": "judge_failed", "undecided": "unjudged"}[open_[0].status]] += 1
                counts["state_failed"] += turn.breakdown["state"].status == "fail"
    return counts


def test_without_a_judge_undecided_is_kept_counted_and_shown(tmp_path: Path, monkeypatch) -> None:
    undecidable_replies(monkeypatch)
    path, convs = _convs(tmp_path, 6)
    out = io.StringIO()
    config = RunConfig(conversations=str(path), split=None, output=str(tmp_path / "run"), agent="replay", progress=False)
    summary = run_eval(config, agent_factory=lambda c, t, s: VagueReplay([c]), out=out)
    counts = _recount(tmp_path / "run")
    assert counts["undecided"] > 0 and counts["unjudged"] == counts["undecided"]
    turns = summary["undecided"]["turns"]
    assert (turns["undecided"], turns["unjudged"], turns["judge_passed"]) == (counts["undecided"],) * 2 + (0,)
    # the oracle's calls: every undecided turn passed all else, and only the undecided replies failed it
    assert turns["all_else_passed"] == turns["undecided"]
    assert summary["turn_success"]["value"] == pytest.approx(1 - turns["undecided"] / summary["episodes"]["turns"])
    assert summary["undecided"]["turn_success_if_judge_passes_all"] == 1.0
    lines = load_results(tmp_path / "run" / "results.jsonl").lines.values()
    reply = next(t.breakdown["reply"] for l in lines for t in l.turns if t.breakdown["reply"].status == "undecided")
    assert reply.score == 0.0 and reply.rationale.endswith("(no judge configured)")
    report = (tmp_path / "run" / "report.md").read_text()
    assert f"| reply | {turns['undecided']} | 0 | 0 | {turns['undecided']} |" in report
    assert f"undecided        {turns['undecided']} turn(s)" in out.getvalue()
    assert "a judge passing them: turn success up to 100.0 %" in out.getvalue()


def _judge_config(tmp_path: Path, path: Path, name: str, url: str, **options: Any) -> RunConfig:
    return RunConfig(conversations=str(path), split=None, output=str(tmp_path / name), agent="replay",
                     progress=False, judge=True, judge_model=f"openai:fake-judge@{url}", **options)


def test_the_judge_decides_undecided_checks_on_turns_that_failed_otherwise(tmp_path: Path, monkeypatch) -> None:
    undecidable_replies(monkeypatch)
    path, convs = _convs(tmp_path, 6)
    with FakeProvider("openai", model="fake-judge") as judge:
        judge.default = lambda body: (200, {}, judge._answer({"respond": PASS}))
        config = _judge_config(tmp_path, path, "run", judge.url)
        summary = run_eval(config, agent_factory=lambda c, t, s: VagueReplay([c], skip_last=True), out=io.StringIO())
    counts = _recount(tmp_path / "run")
    assert counts["state_failed"] > 0  # the skipped last turns: the judge was asked there too
    turns = summary["undecided"]["turns"]
    assert turns["undecided"] == turns["judge_passed"] == counts["judge_passed"] == counts["undecided"] > 0
    assert turns["unjudged"] == 0 and summary["judge"]["turns_consulted"] == counts["undecided"]
    assert summary["judge"]["calls"] == len(judge.requests) > 0
    # a judge's pass never rescues a failed check: the skipped last turns still fail
    lines = load_results(tmp_path / "run" / "results.jsonl").lines.values()
    assert all(not line.turns[-1].success for line in lines)


def _vetoed(run_dir: Path) -> set[tuple[str, int]]:
    return {(line.conversation_id, turn.turn_id) for line in load_results(run_dir / "results.jsonl").lines.values()
            for turn in line.turns if "judge" in turn.breakdown and turn.breakdown["judge"].details.get("veto")}


def test_audit_vetoes_are_reported_and_reruns_audit_the_same_turns(tmp_path: Path) -> None:
    path, convs = _convs(tmp_path, 8)
    with FakeProvider("openai", model="fake-judge") as judge:
        judge.default = lambda body: (200, {}, judge._answer({"respond": FAIL}))
        runs = []
        for name in ("a", "b"):
            out = io.StringIO()
            config = _judge_config(tmp_path, path, name, judge.url, judge_mode="audit", judge_audit_rate=0.5)
            runs.append((run_eval(config, agent_factory=lambda c, t, s: ReplayAgent([c]), out=out), out.getvalue()))
    (summary, console), (again, _) = runs
    vetoes = summary["judge"]["vetoes"]
    assert 0 < vetoes == summary["judge"]["audited"] < summary["episodes"]["turns"]  # the judge fails every audit
    assert _vetoed(tmp_path / "a") == _vetoed(tmp_path / "b") and len(_vetoed(tmp_path / "a")) == vetoes
    vetoed = _vetoed(tmp_path / "a")
    for line in load_results(tmp_path / "a" / "results.jsonl").lines.values():
        for turn in line.turns:
            if (line.conversation_id, turn.turn_id) in vetoed:  # passed every check, and failed
                assert not turn.success and all(turn.breakdown[n].status in ("pass", "n/a") for n in DECISIVE)
    assert again["judge"] == summary["judge"] and again["undecided"] == summary["undecided"]
    assert f"judge audit      {vetoes} passing turn(s) audited, {vetoes} vetoed" in console
    report = (tmp_path / "a" / "report.md").read_text()
    assert f"{vetoes} turn(s) audited, {vetoes} vetoed" in report and "mode `audit`, audit rate 0.5" in report


def test_cli_judge_mode_flags_are_validated(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    base = ["eval", "--sample", "1", "--no-progress"]
    assert main([*base, "--output", str(tmp_path / "a"), "--judge-mode", "audit"]) == 2
    assert "--judge-mode audit needs a judge" in capsys.readouterr().err
    assert main([*base, "--output", str(tmp_path / "b"), "--judge", "--judge-mode", "audit",
                 "--judge-audit-rate", "1.5"]) == 2
    assert "from 0 to 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*base, "--output", str(tmp_path / "c"), "--judge-mode", "always"])
    assert "invalid choice: 'always'" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()  # refused before starting
