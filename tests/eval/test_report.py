"""``report.md`` as a reader checks it: the dataset by name, failure categories that are failures, a note
where shares overlap, one interval for one number, no cost plot for a free run; and the live progress of
a resumed run counts the whole run."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import pytest

from crm_env.eval.config import RunConfig
from crm_env.eval.job import run_eval
from crm_env.eval.metrics import VALID_REQUEST
from tests.envs.helpers import datasets_available

pytestmark = pytest.mark.skipif(not datasets_available(), reason="the packaged eval-400 split is not available")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "run"
    run_eval(RunConfig(agent="scripted", output=str(out), progress=False), out=io.StringIO())
    return out


def test_the_report_names_the_dataset_and_lists_only_failure_categories(run: Path) -> None:
    report = (run / "report.md").read_text()
    assert "dataset arc-crm-1200:eval-400 (`sha256:" in report
    assert VALID_REQUEST not in report
    assert "shares add up to more than 100 %" in report


def test_strict_success_and_pass_1_are_one_number_with_one_interval(run: Path) -> None:
    summary = json.loads((run / "summary.json").read_text())
    strict, first = summary["strict_success"], summary["pass_hat_k"][0]
    assert (strict["value"], strict["ci_low"], strict["ci_high"]) == (first["value"], first["ci_low"], first["ci_high"])


def test_a_free_run_draws_no_cost_plot(run: Path) -> None:
    assert not (run / "cost_vs_success.png").exists()
    assert "cost_vs_success.png" not in (run / "report.md").read_text()


def test_the_live_strict_success_of_a_resumed_run_counts_the_whole_run(run: Path, tmp_path: Path) -> None:
    half = tmp_path / "half"
    half.mkdir()
    shutil.copy(run / "run.json", half / "run.json")
    lines = (run / "results.jsonl").read_text().splitlines(keepends=True)
    (half / "results.jsonl").write_text("".join(lines[:200]))
    stream = io.StringIO()
    run_eval(RunConfig(agent="scripted", output=str(half), progress=True), resume=True, given={"output": str(half), "progress": True},
             stream=stream, out=io.StringIO())
    shown = re.findall(r"strict\s+([\d.]+)%", stream.getvalue())[-1]
    whole = json.loads((run / "summary.json").read_text())["strict_success"]["value"]
    assert float(shown) == pytest.approx(100 * whole, abs=0.05)


def test_every_group_rate_has_its_count_and_interval(run: Path) -> None:
    summary = json.loads((run / "summary.json").read_text())
    for key, rate, count in (("by_complexity", "strict_success", "episodes"), ("by_intent", "turn_success", "turns"),
                             ("by_failure_category", "turn_success", "turns")):
        for name, row in summary[key].items():
            low, high = row[f"{rate}_ci"]
            assert row[count] > 0 and low <= row[rate] <= high, (key, name, row)
    report = (run / "report.md").read_text()
    intent, row = next(iter(summary["by_intent"].items()))
    low, high = row["turn_success_ci"]
    assert f"| {intent} | {row['turns']} | {100 * row['turn_success']:.1f} % ({100 * low:.1f} % – {100 * high:.1f} %)" \
        in report
