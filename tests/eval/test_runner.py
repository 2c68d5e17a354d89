"""The evaluation runner and CLI: oracle 100 %, hand-computed summaries, infrastructure failures,
budget stops, resume, and the result file's format."""

from __future__ import annotations

import io
import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from crm_env.agents.replay import ReplayAgent
from crm_env.cli.main import main
from crm_env.datasets import dump, load
from crm_env.eval.config import RunConfig
from crm_env.eval.job import run_eval
from crm_env.eval.results import load_results
from tests.eval.helpers import FlakyAgent, SabotagedReplay, scores


def _eval(tmp: Path, *args: str) -> dict:
    code = main(["eval", "--output", str(tmp), "--no-progress", *args])
    assert code == 0
    return json.loads((tmp / "summary.json").read_text())


def _small(tmp_path: Path, n: int = 6) -> tuple[Path, list]:
    convs = load("arc-crm-1200", split="eval-400")[:n]
    path = dump(convs, tmp_path / "small.jsonl")
    return path, convs


def test_replay_is_100_percent_on_eval_400_in_memory(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    summary = _eval(tmp_path / "run", "--agent", "replay", "--concurrency", "16")
    assert "SIMULATED" in capsys.readouterr().out
    assert summary["episodes"]["completed"] == 400 and summary["episodes"]["infra_errors"] == 0
    for key in ("strict_success", "turn_success", "tool_success", "response_success"):
        assert summary[key]["value"] == 1.0, key
    assert (tmp_path / "run" / "report.md").is_file()
    assert {p.name for p in (tmp_path / "run").glob("*.png")} >= {"pass_hat_k.png", "success_by_complexity.png"}


@pytest.mark.postgres
def test_replay_is_100_percent_on_eval_400_on_postgres(tmp_path: Path, pg_url: str) -> None:
    url = pg_url
    summary = _eval(tmp_path / "run", "--agent", "replay", "--backend", url, "--concurrency", "8")
    assert summary["strict_success"]["value"] == 1.0 and summary["episodes"]["completed"] == 400
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    password = urlsplit(url).password
    assert password is None or password not in json.dumps(record)  # the password is never recorded


def test_sabotaged_summary_matches_hand_computation(tmp_path: Path) -> None:
    path, convs = _small(tmp_path, 6)
    bad = {convs[1].conversation_id, convs[4].conversation_id}
    config = RunConfig(conversations=str(path), split=None, output=str(tmp_path / "run"), agent="replay",
                       progress=False, trials=2)
    summary = run_eval(config, agent_factory=lambda c, t, s: SabotagedReplay([c], bad), out=io.StringIO())
    turns = sum(len(c.turns) for c in convs)
    assert summary["strict_success"]["value"] == pytest.approx(4 / 6)
    assert summary["turn_success"]["value"] == pytest.approx((turns - 2) / turns)
    assert summary["episodes"] == {"planned": 12, "completed": 12, "infra_errors": 0, "pending": 0,
                                   "conversations": 6, "turns": 2 * turns}
    assert [r["value"] for r in summary["pass_hat_k"]] == pytest.approx([4 / 6, 4 / 6])
    by = summary["by_complexity"]
    for complexity in {c.complexity.value for c in convs}:
        mine = [c for c in convs if c.complexity.value == complexity]
        ok = sum(c.conversation_id not in bad for c in mine)
        assert by[complexity]["strict_success"] == pytest.approx(ok / len(mine))
    # each failed (last) turn is a give-up reply: its intent's failures are counted there
    failed_intents = {c.turns[-1].intent.value for c in convs if c.conversation_id in bad}
    assert all(summary["by_intent"][i]["turn_success"] < 1 for i in failed_intents)


def test_scripted_summary_matches_hand_computation_from_its_verdicts(tmp_path: Path) -> None:
    path, convs = _small(tmp_path, 12)
    summary = _eval(tmp_path / "run", "--conversations", str(path), "--trials", "3", "--seed", "3")
    lines = list(load_results(tmp_path / "run" / "results.jsonl").lines.values())
    assert len(lines) == 36
    turns = [t for line in lines for t in line.turns]
    assert summary["strict_success"]["value"] == pytest.approx(sum(all(t.success for t in l.turns) for l in lines) / 36)
    assert summary["turn_success"]["value"] == pytest.approx(sum(t.success for t in turns) / len(turns))
    assert summary["tool_success"]["value"] == pytest.approx(
        sum(t.breakdown["state"].status == "pass" for t in turns) / len(turns))
    checked = [t for t in turns if t.breakdown["reply"].status != "n/a" or t.breakdown["refusal"].status != "n/a"]
    ok = [t for t in checked if all(t.breakdown[n].status == "pass" for n in ("reply", "refusal")
                                    if t.breakdown[n].status != "n/a")]
    assert summary["response_success"]["value"] == pytest.approx(len(ok) / len(checked))
    per_conv: dict[str, list[bool]] = {}
    for line in lines:
        per_conv.setdefault(line.conversation_id, []).append(bool(line.strict_success))
    from math import comb
    for row in summary["pass_hat_k"]:
        k = row["k"]
        assert row["value"] == pytest.approx(sum(comb(sum(v), k) / comb(3, k) for v in per_conv.values()) / len(per_conv))
    # the same seed reproduces the same verdicts; numbers are numbers in the file
    again = _eval(tmp_path / "again", "--conversations", str(path), "--trials", "3", "--seed", "3")
    assert scores(again) == scores(summary)
    raw = json.loads((tmp_path / "run" / "results.jsonl").read_text().splitlines()[0])
    assert isinstance(raw["trial"], int) and isinstance(raw["latency_s"], float)
    assert isinstance(raw["turns"][0]["shaped_reward"], float) and isinstance(raw["strict_success"], bool)


def test_infrastructure_failures_are_excluded_listed_and_retried_on_resume(tmp_path: Path) -> None:
    path, convs = _small(tmp_path, 8)
    down = {convs[2].conversation_id, convs[5].conversation_id}
    config = RunConfig(conversations=str(path), split=None, output=str(tmp_path / "run"), agent="replay", progress=False)
    first = run_eval(config, agent_factory=lambda c, t, s: FlakyAgent(ReplayAgent([c]), c.conversation_id in down),
                     out=io.StringIO())
    assert first["episodes"]["infra_errors"] == 2 and first["episodes"]["completed"] == 6
    assert first["strict_success"]["value"] == 1.0  # excluded, not counted as failures
    assert {f["conversation_id"] for f in first["infra_failures"]} == down
    assert all("HTTP 500" in f["cause"] for f in first["infra_failures"])
    second = run_eval(config, resume=True, given={"output": str(tmp_path / "run")},
                      agent_factory=lambda c, t, s: FlakyAgent(ReplayAgent([c]), False), out=io.StringIO())
    assert second["episodes"]["infra_errors"] == 0 and second["episodes"]["completed"] == 8
    loaded = load_results(tmp_path / "run" / "results.jsonl")
    assert len(loaded.lines) == 8 and loaded.duplicates == 0
    assert all(loaded.lines[(c, 0)].infra_history for c in down)


def test_budget_stops_cleanly_and_resume_finishes(tmp_path: Path) -> None:
    path, convs = _small(tmp_path, 10)
    out = tmp_path / "run"
    # gpt-4.1: 1000 input + 100 output tokens = $0.0028 per action
    config = RunConfig(conversations=str(path), split=None, output=str(out), agent="replay", progress=False,
                       budget_usd=0.05, concurrency=2)
    factory = lambda c, t, s: FlakyAgent(ReplayAgent([c]), False, cost_model="gpt-4.1")  # noqa: E731
    first = run_eval(config, agent_factory=factory, out=io.StringIO())
    assert first["stopped_by_budget"] and first["episodes"]["pending"] > 0
    assert first["usage"]["total_cost_usd"] <= 0.05 + 0.02  # at most the episodes already in flight past it
    assert first["usage"]["by_role"]["agent"]["calls"] > 0
    second = run_eval(config, resume=True, given={"output": str(out), "budget_usd": 100.0}, agent_factory=factory,
                      out=io.StringIO())
    assert second["episodes"]["pending"] == 0 and second["episodes"]["completed"] == 10
    assert second["usage"]["cost_per_strict_success_usd"] == pytest.approx(second["usage"]["total_cost_usd"] / 10)


def test_resume_refuses_changed_flags_and_fresh_runs_refuse_used_dirs(tmp_path: Path) -> None:
    path, _ = _small(tmp_path, 3)
    _eval(tmp_path / "run", "--conversations", str(path))
    assert main(["eval", "--output", str(tmp_path / "run"), "--conversations", str(path), "--no-progress"]) == 2
    assert main(["eval", "--output", str(tmp_path / "run"), "--resume", "--seed", "9", "--no-progress"]) == 2
    assert main(["eval", "--output", str(tmp_path / "run"), "--resume", "--concurrency", "2", "--no-progress"]) == 0


def test_torn_last_line_is_dropped_on_resume(tmp_path: Path) -> None:
    path, _ = _small(tmp_path, 4)
    summary = _eval(tmp_path / "run", "--conversations", str(path))
    results = tmp_path / "run" / "results.jsonl"
    lines = results.read_bytes().splitlines(keepends=True)
    results.write_bytes(b"".join(lines[:2]) + lines[2][: len(lines[2]) // 2])  # a kill mid-write
    assert load_results(results).torn_tail
    assert main(["eval", "--output", str(tmp_path / "run"), "--resume", "--no-progress"]) == 0
    assert scores(json.loads((tmp_path / "run" / "summary.json").read_text())) == scores(summary)
    assert len(results.read_text().splitlines()) == 4


def test_report_and_compare_commands(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path, _ = _small(tmp_path, 6)
    _eval(tmp_path / "a", "--conversations", str(path), "--agent", "replay")
    _eval(tmp_path / "b", "--conversations", str(path), "--trials", "2")
    (tmp_path / "b" / "report.md").unlink()
    assert main(["report", str(tmp_path / "b")]) == 0
    assert "pass^2" in (tmp_path / "b" / "report.md").read_text()
    capsys.readouterr()
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["shared_conversations"] == 6
    strict = result["metrics"]["strict_success"]
    assert strict["a"] == 1.0 and strict["ci_low"] <= strict["delta"] <= strict["ci_high"]


def test_a_budget_needs_prices_for_the_models_that_spend(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    # An unpriced model would cost 0 and the budget would never stop the run: refuse before starting.
    args = ["eval", "--agent", "openai", "--model", "my-local-model", "--base-url", "http://127.0.0.1:9/v1",
            "--budget-usd", "1", "--sample", "2", "--no-progress"]
    assert main([*args, "--output", str(tmp_path / "a")]) == 2
    assert "--budget-usd needs a price for my-local-model" in capsys.readouterr().err
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"my-local-model": {"input": 0, "output": 0, "cached_input": 0}}))
    from crm_env.eval.runner import prepare

    config = RunConfig(agent="openai", model="my-local-model", base_url="http://127.0.0.1:9/v1", budget_usd=1,
                       sample=2, prices=str(prices), output=str(tmp_path / "b"), progress=False)
    assert prepare(config).record.agent_model == "my-local-model"
