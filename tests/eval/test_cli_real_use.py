"""``crm-env eval`` under real use, with real subprocesses: failures before the run are refused with nothing
left behind; infrastructure failures give exit code 3 and their causes; concurrent runs never share a
directory; Ctrl-C stops promptly, writes the summary of what finished, and a second one leaves at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crm_env.cli.codes import EXIT_INFRA, EXIT_INTERRUPTED, EXIT_USAGE
from crm_env.datasets import dump, load
from tests.envs.helpers import datasets_available

pytestmark = pytest.mark.skipif(not datasets_available(), reason="the packaged eval-400 split is not available")
providers = pytest.importorskip("tests.fakes.providers")


def _crm_env(*args: str, cwd: Path, **kw: object) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    return subprocess.Popen([sys.executable, "-m", "crm_env.cli.main", *args], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def _run(*args: str, cwd: Path) -> tuple[int, str, str]:
    process = _crm_env(*args, cwd=cwd)
    out, err = process.communicate(timeout=300)
    return process.returncode, out, err


@pytest.mark.parametrize(("flags", "message"), [
    (["--backend", "postgresql+psycopg://nobody@127.0.0.1:1/x"], "cannot use the backend"),
    (["--agent", "openai", "--base-url", "http://127.0.0.1:1/v1"], "--base-url: nothing answers at"),
    (["--agent", "claude"], "ANTHROPIC_API_KEY"),
    (["--trials", "0"], "--trials: Input should be greater than or equal to 1"),
])
def test_failures_before_the_run_leave_nothing_behind(tmp_path: Path, flags: list[str], message: str) -> None:
    code, out, err = _run("eval", "--no-progress", *flags, cwd=tmp_path)
    assert code == EXIT_USAGE and message in err, err
    assert "evaluating" not in out and "Traceback" not in err and "errors.pydantic.dev" not in err
    assert not (tmp_path / "runs").exists()


def _against(tmp_path: Path, status: int, message: str) -> tuple[int, str, str]:
    data = dump(load("arc-crm-1200", split="eval-400")[:3], tmp_path / "three.jsonl")
    with providers.FakeProvider("openai", model="gpt-4.1-mini") as provider:
        provider.default = lambda body: (status, {}, {"error": {"message": message, "type": "invalid_request_error"}})
        return _run("eval", "--agent", "openai", "--model", "gpt-4.1-mini", "--base-url", provider.url,
                    "--conversations", str(data), "--no-progress", "--output", "run", cwd=tmp_path)


def test_infrastructure_failures_exit_3_and_name_their_cause(tmp_path: Path) -> None:
    code, out, err = _against(tmp_path, 400, "context too long")
    assert code == EXIT_INFRA, out + err
    assert "infrastructure failures: 3 episode(s)" in out and "--resume" in out
    assert "3 × agent: InfrastructureError: the provider rejected the request: BadRequestError (HTTP 400)" in out


def test_a_refused_key_stops_the_run_with_a_clear_error(tmp_path: Path) -> None:
    code, _, err = _against(tmp_path, 401, "invalid key")
    assert code == EXIT_USAGE and "Traceback" not in err
    assert "the provider refused the request: AuthenticationError (HTTP 401)" in err and "invalid key" in err
    assert (tmp_path / "run" / "summary.json").is_file()


def test_two_runs_started_together_never_share_a_directory(tmp_path: Path) -> None:
    flags = ("eval", "--agent", "replay", "--sample", "30", "--no-progress")
    first, second = _crm_env(*flags, cwd=tmp_path), _crm_env(*flags, cwd=tmp_path)
    said = [process.communicate(timeout=300) for process in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], said  # what a failing run printed
    runs = sorted((tmp_path / "runs").iterdir())
    assert len(runs) == 2
    for run in runs:
        assert len((run / "results.jsonl").read_text().splitlines()) == 30
        assert json.loads((run / "summary.json").read_text())["episodes"]["completed"] == 30
        assert json.loads((run / "run.json").read_text())["config"]["output"] == str(run.relative_to(tmp_path))


def test_two_runs_into_one_explicit_directory_one_is_refused(tmp_path: Path) -> None:
    flags = ("eval", "--agent", "replay", "--sample", "30", "--no-progress", "--output", "same")
    first, second = _crm_env(*flags, cwd=tmp_path), _crm_env(*flags, cwd=tmp_path)
    codes = sorted([first.wait(timeout=300), second.wait(timeout=300)])
    assert codes == [0, EXIT_USAGE]
    assert len((tmp_path / "same" / "results.jsonl").read_text().splitlines()) == 30


def _interrupted(tmp_path: Path, signals: int) -> tuple[int, str, str, float]:
    process = _crm_env("eval", "--agent", "replay", "--trials", "10", "--no-progress", "--output", "run", cwd=tmp_path)
    results = tmp_path / "run" / "results.jsonl"
    deadline = time.monotonic() + 120
    while (not results.exists() or results.stat().st_size < 50_000) and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    for _ in range(signals):
        process.send_signal(signal.SIGINT)
        time.sleep(0.2)
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err, time.monotonic() - started


def test_ctrl_c_stops_promptly_and_writes_what_finished(tmp_path: Path) -> None:
    code, out, err, took = _interrupted(tmp_path, 1)
    assert code == EXIT_INTERRUPTED and "Traceback" not in err and "--resume" in err
    assert took < 30  # not the 4,000 episodes of the whole run
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    finished = len((tmp_path / "run" / "results.jsonl").read_text().splitlines())
    assert 0 < summary["episodes"]["completed"] == finished < 4000
    assert (tmp_path / "run" / "report.md").is_file() and "interrupted:" in out


def test_a_second_ctrl_c_leaves_at_once_without_a_traceback(tmp_path: Path) -> None:
    code, _, err, took = _interrupted(tmp_path, 2)
    assert code == EXIT_INTERRUPTED and "Traceback" not in err and took < 30


def test_importing_a_missing_file_fails_and_writes_nothing(tmp_path: Path) -> None:
    code, _, err = _run("dataset", "import", "--from", "previous", str(tmp_path / "missing.jsonl"), "out.jsonl",
                        cwd=tmp_path)
    assert code == EXIT_USAGE and "no such file" in err and not list(tmp_path.iterdir())


def test_output_is_spelt_the_same_in_every_subcommand(tmp_path: Path) -> None:
    code, _, err = _run("dataset", "generate", "--seed", "1", "--count", "2", "--output", "two.jsonl", cwd=tmp_path)
    assert code == 0 and len((tmp_path / "two.jsonl").read_text().splitlines()) == 2, err


@pytest.mark.parametrize("dataset", ["FILE", "golden"])
def test_dataset_takes_a_path_or_a_name_without_a_split(tmp_path: Path, dataset: str) -> None:
    if dataset == "FILE":
        dataset = str(dump(load("arc-crm-1200", split="eval-400")[:5], tmp_path / "five.jsonl"))
    code, _, err = _run("eval", "--agent", "replay", "--dataset", dataset, "--no-progress", "--output", "run",
                          cwd=tmp_path)
    assert code == 0, err
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["strict_success"]["value"] == 1.0


@pytest.mark.parametrize(("args", "message"), [
    (["eval", "--dataset", "arc-crm-12OO"], "not a packaged dataset (arc-crm-1200, golden)"),
    (["eval", "--split", "evall-400"], "has no split 'evall-400'; choose one of: eval-400, test, train"),
    (["dataset", "stats", "golden", "--split", "train"], "golden has no split 'train'"),
])
def test_a_wrong_dataset_or_split_is_named(tmp_path: Path, args: list[str], message: str) -> None:
    code, _, err = _run(*args, "--no-progress", cwd=tmp_path) if args[0] == "eval" else _run(*args, cwd=tmp_path)
    assert code == EXIT_USAGE and message in err, err


def test_dataset_subcommands_take_a_split_and_db_takes_its_url_after_the_subcommand(tmp_path: Path) -> None:
    code, out, _ = _run("dataset", "stats", "arc-crm-1200", "--split", "eval-400", cwd=tmp_path)
    assert code == 0 and "400" in out
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    code, out, err = _run("db", "init", "--url", url, cwd=tmp_path)
    assert code == 0 and "schema ready" in out, err


def test_db_up_says_where_its_data_lives_reuses_and_db_down_stops_it(tmp_path: Path) -> None:
    import shutil
    import tempfile

    from crm_env.backends.local_postgres import find_bin
    from crm_env.errors import ConfigError

    try:
        find_bin("pg_ctl")
    except ConfigError:
        if os.environ.get("CRM_ENV_REQUIRE_DB") == "1":
            raise
        pytest.skip("PostgreSQL's server binaries are not installed")
    directory = Path(tempfile.mkdtemp(prefix="crm_env_db_up."))  # under /tmp: the server user must reach it
    try:
        code, out, err = _run("db", "up", "--dir", str(directory), cwd=tmp_path)
        assert code == 0 and out.startswith("postgresql+psycopg://") and "127.0.0.1" in out
        assert f"started a server; its data lives in {directory}" in err
        code, again, err = _run("db", "up", "--dir", str(directory), cwd=tmp_path)
        assert code == 0 and again == out and "reusing the server already running" in err
        code, out, _ = _run("db", "down", "--dir", str(directory), cwd=tmp_path)
        assert code == 0 and f"stopped the server in {directory}" in out
        code, out, _ = _run("db", "down", "--dir", str(directory), cwd=tmp_path)
        assert code == 0 and "no server running" in out
    finally:
        _run("db", "down", "--dir", str(directory), cwd=tmp_path)
        shutil.rmtree(directory, ignore_errors=True)


def test_the_readme_seed_example_loads(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    example = readme.split("file maps record types to records", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    (tmp_path / "seed.json").write_text(example)
    code, out, err = _run("db", "seed", "seed.json", "--url", f"sqlite:///{tmp_path / 'crm.db'}", cwd=tmp_path)
    assert code == 0 and "loaded 2 records" in out, err


def test_results_are_synced_by_group_commit_not_per_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from crm_env.eval.config import RunConfig
    from crm_env.eval.job import run_eval
    from crm_env.eval.results import ResultsWriter

    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    started = time.monotonic()
    run_eval(RunConfig(agent="replay", output=str(tmp_path / "run"), progress=False), out=io.StringIO())
    took = time.monotonic() - started
    assert len((tmp_path / "run" / "results.jsonl").read_text().splitlines()) == 400
    assert len(synced) <= took / ResultsWriter.SYNC_INTERVAL_S + 10 < 400


def test_import_crm_env_and_crm_env_version_load_nothing_heavy(tmp_path: Path) -> None:
    heavy = ("crm_env.envs.env", "crm_env.sandbox", "crm_env.rewards", "crm_env.eval", "matplotlib", "openai",
             "anthropic", "sqlalchemy", "ray", "atlas", "crm_env.integrations")
    probe = ("import sys, crm_env, gymnasium; gymnasium.spec('ArcCrm-v0'); "
             f"print(sorted(m for m in sys.modules if m.startswith({heavy!r})))")
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip() == "[]"
    code, out, _ = _run("--version", cwd=tmp_path)
    assert code == 0 and out.startswith("crm-env ")
