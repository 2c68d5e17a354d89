"""Atlas's learning runtime (``atlas.core.arun``, the real SDK) around our episodes: ``crm-env atlas
init-config`` writes a configuration the SDK accepts; ``crm-env atlas run`` completes sessions in auto mode
and in paired mode, where the teacher's calls reach the fake provider server and its rejection makes Atlas
retry; results land in ``crm-env eval``'s format with Atlas's record in each line."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from crm_env.cli.main import main
from tests.conftest import require_extra
from tests.envs.helpers import datasets_available

os.environ.update({"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_OFFLINE_MODE": "true"})
require_extra("atlas", "atlas")
providers = pytest.importorskip("tests.fakes.providers")
pytestmark = pytest.mark.skipif(not datasets_available(), reason="packaged datasets not built")
MODEL = "gpt-4.1-mini"


def _config(tmp_path: Path, provider: Any, mode: str, *extra: str) -> Path:
    path = tmp_path / f"atlas-{mode}.yaml"
    assert main(["atlas", "init-config", "--output", str(path), "--base-url", provider.url, "--mode", mode,
                 *extra]) == 0
    return path


def _teacher(provider: Any, valid: bool):  # type: ignore[no-untyped-def]
    def behaviour(body):  # type: ignore[no-untyped-def]
        verdict = {"valid": valid, "guidance": None if valid else "Confirm each change against the request."}
        return 200, {}, json.loads(provider._answer({"respond": json.dumps(verdict)}))
    return behaviour


def _lines(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def test_init_config_writes_what_the_sdk_accepts_and_never_overwrites(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from atlas.config.loader import load_config

    with providers.FakeProvider("openai", model=MODEL) as provider:
        path = _config(tmp_path, provider, "paired", "--database-url", "postgresql://atlas:s3cret@127.0.0.1:1/atlas")
        assert "s3cret" not in capsys.readouterr().out
        config = load_config(str(path))
        assert config.agent.import_path == "crm_env.integrations.atlas.session" and config.agent.attribute == "play"
        assert config.adaptive_teaching.reward.type == "python" and config.orchestration.max_retries == 1
        assert config.storage is not None and config.storage.apply_schema_on_connect is False
        assert main(["atlas", "init-config", "--output", str(path)]) == 2


def test_auto_sessions_play_our_episodes_and_score_them_with_our_verdict(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    with providers.FakeProvider("openai", model=MODEL) as provider:
        provider.default = _teacher(provider, True)
        config = _config(tmp_path, provider, "auto")
        assert main(["atlas", "run", "--config", str(config), "--student", "replay", "--episodes", "3",
                     "--output", str(out)]) == 0
        assert provider.requests == []  # auto mode: no teacher
    assert "'replay' agent is SIMULATED" in capsys.readouterr().out
    lines = _lines(out)
    assert len(lines) == 3 and all(line["strict_success"] for line in lines)  # the oracle
    for line in lines:
        assert line["atlas"]["mode"] == "auto" and line["atlas"]["attempts"] == 1 and line["atlas"]["reward"] == 1.0
        assert line["atlas"]["learning_key"] == f"crm_env:{line['workflow']}"
    assert json.loads((out / "summary.json").read_text())["episodes"]["completed"] == 3
    assert main(["report", str(out)]) == 0


def test_paired_sessions_reach_the_teacher_and_retry_on_its_rejection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    with providers.FakeProvider("openai", model=MODEL) as provider:
        provider.default = _teacher(provider, False)
        config = _config(tmp_path, provider, "paired")
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        assert main(["atlas", "run", "--config", str(config), "--output", str(out)]) == 2  # refused up front
        assert "OPENAI_API_KEY" in capsys.readouterr().err and not out.exists()
        monkeypatch.setenv("OPENAI_API_KEY", "sk-local-fake")
        assert main(["atlas", "run", "--config", str(config), "--episodes", "2", "--output", str(out)]) == 0
        requests = list(provider.requests)
    assert len(requests) == 2 and all(r["model"] == MODEL for r in requests)  # one validation per session
    lines = _lines(out)
    assert all(line["atlas"]["mode"] == "paired" and line["atlas"]["attempts"] == 2 for line in lines)
    assert all(line["atlas"]["guidance"] == ["Confirm each change against the request."] for line in lines)
    for line, request in zip(lines, requests, strict=True):  # the teacher saw our transcript of the episode
        assert line["conversation_id"] in json.dumps(request)
        teacher = line["usage"]["teacher"]  # Atlas's own calls, counted (it records only its student's)
        assert teacher["calls"] == 1 and teacher["input_tokens"] > 0 and teacher["cost_usd"] > 0


def test_a_failed_session_stops_the_run_and_resume_continues(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-local-fake")
    out = tmp_path / "run"
    with providers.FakeProvider("openai", model=MODEL) as provider:
        config = _config(tmp_path, provider, "auto", "--database-url", "postgresql://nobody@127.0.0.1:1/none")
        flags = ["atlas", "run", "--config", str(config), "--student", "replay", "--episodes", "2", "--output", str(out)]
        assert main(flags) == 3
        assert "run again with --resume" in capsys.readouterr().err
        (tmp_path / "working").mkdir()
        working = _config(tmp_path / "working", provider, "auto")  # without the unreachable database
        assert main([*flags[:3], str(working), *flags[4:], "--resume"]) == 0
    assert len(_lines(out)) == 2


def test_the_held_out_split_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with providers.FakeProvider("openai", model=MODEL) as provider:
        config = _config(tmp_path, provider, "auto")
    assert main(["atlas", "run", "--config", str(config), "--split", "test", "--output", str(tmp_path / "r")]) == 2
    assert "held out" in capsys.readouterr().err and not (tmp_path / "r").exists()


@pytest.fixture
def atlas_db() -> Any:
    """A fresh database on the test PostgreSQL server, with Atlas's tables (``crm-env atlas init-db``)."""
    import uuid

    import psycopg

    from crm_env.integrations.atlas.storage import libpq_url
    from tests.conftest import postgres_url

    server = libpq_url(postgres_url())
    name = f"atlas_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = server.rsplit("/", 1)[0] + f"/{name}"
    try:
        assert main(["atlas", "init-db", url]) == 0
        assert main(["atlas", "init-db", url]) == 0  # idempotent
        yield url
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


LESSON = "Read the quote back before you change its status."


@pytest.mark.postgres
def test_sessions_persist_and_the_learning_state_one_writes_the_next_reads(tmp_path: Path, atlas_db: str,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg

    monkeypatch.setenv("OPENAI_API_KEY", "sk-local-fake")

    def synthesizer(body):  # type: ignore[no-untyped-def]
        answer = {"student_pamphlet": LESSON, "session_student_learning": "checked the quote"}
        return 200, {}, json.loads(provider._answer({"respond": json.dumps(answer)}))

    with providers.FakeProvider("openai", model=MODEL) as provider:
        provider.default = synthesizer
        config = _config(tmp_path, provider, "auto", "--database-url", atlas_db)
        for name in ("first", "second"):  # the same conversation twice: one learning key
            assert main(["atlas", "run", "--config", str(config), "--episodes", "1", "--output",
                         str(tmp_path / name)]) == 0
    first, second = _lines(tmp_path / "first")[0], _lines(tmp_path / "second")[0]
    assert LESSON not in first["atlas"]["guidance"] and LESSON in second["atlas"]["guidance"]  # read from storage
    assert first["atlas"]["learning_state"]["student_learning"] == LESSON  # what the first session left
    with psycopg.connect(atlas_db) as connection:
        sessions = connection.execute("SELECT id, status, metadata->>'learning_key' FROM sessions ORDER BY id").fetchall()
        registry = connection.execute("SELECT learning_key, student_learning FROM learning_registry").fetchall()
    assert [(s[1], s[2]) for s in sessions] == [("succeeded", first["atlas"]["learning_key"])] * 2
    assert [s[0] for s in sessions] == [first["atlas"]["session_id"], second["atlas"]["session_id"]]
    assert registry == [(first["atlas"]["learning_key"], LESSON)]
    assert first["usage"]["curator"]["calls"] == 1 and "teacher" not in first["usage"]  # the synthesizer; auto mode
    assert "gold" not in json.dumps(provider.requests).lower()  # no reference in what the synthesizer read


def _memory(path: Path) -> str:
    """A learning memory with one active entry per audience and a candidate (which is not exported)."""
    from crm_env.learning.entries import AddEntry, Cue, Entry, Lifecycle, SetStatus
    from crm_env.learning.store import MemoryStore

    url = f"sqlite:///{path}"
    entries = [Entry(audience=audience, cue=Cue(keywords=("quote",)), instruction=text, expected_effect="e",
                     rationale="r") for audience, text in (("student", LESSON), ("teacher", "Check the quote id."),
                                                           ("student", "Not yet trusted."))]
    with MemoryStore(url) as store:
        store.extend([AddEntry(entry=e, reason="test") for e in entries])
        store.extend([SetStatus(entry_id=e.id, status=Lifecycle.ACTIVE, reason="test") for e in entries[:2]])
    return url


@pytest.mark.postgres
def test_our_memory_seeds_atlas_and_atlas_learning_comes_back_as_candidates(
        tmp_path: Path, atlas_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    import psycopg

    from crm_env.learning.store import MemoryStore

    memory = _memory(tmp_path / "memory.db")
    key = "crm_env:Quote Management"
    assert main(["atlas", "export-memory", "--memory", memory, "--database-url", atlas_db]) == 0
    with psycopg.connect(atlas_db) as connection:
        rows = dict(connection.execute("SELECT learning_key, student_learning FROM learning_registry").fetchall())
    assert len(rows) == 9 and rows[key] == f"- {LESSON}"  # one key per workflow family; the candidate stays home
    assert main(["atlas", "export-memory", "--memory", memory, "--database-url", atlas_db]) == 2  # no silent overwrite
    assert "--replace" in capsys.readouterr().err
    with psycopg.connect(atlas_db) as connection:
        connection.execute("UPDATE learning_registry SET student_learning = %s WHERE learning_key = %s",
                           (f"- {LESSON}\n- Confirm the new status with the user.\n- {'x' * 300}", key))
    target = f"sqlite:///{tmp_path / 'back.db'}"
    assert main(["atlas", "import-memory", "--database-url", atlas_db, "--memory", target,
                 "--learning-key", key]) == 0
    assert "1 line(s) refused" in capsys.readouterr().out  # the 300-character line
    with MemoryStore(target) as store:
        state = store.state()
    instructions = {e.instruction: e for e in state.entries.values()}
    assert set(instructions) == {LESSON, "Confirm the new status with the user.", "Check the quote id."}
    assert all(e.status.value == "candidate" and e.cue.entities == ("quote",) for e in instructions.values())
    assert instructions["Confirm the new status with the user."].cue.keywords == ("status",)
    assert main(["atlas", "import-memory", "--database-url", atlas_db, "--memory", target, "--learning-key", key]) == 0
    with MemoryStore(target) as store:
        assert store.state().version == state.version  # nothing added twice


@pytest.mark.postgres
def test_an_exported_memory_reaches_our_student_in_an_atlas_session(tmp_path: Path, atlas_db: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-local-fake")
    assert main(["atlas", "export-memory", "--memory", _memory(tmp_path / "m.db"), "--database-url", atlas_db]) == 0
    with providers.FakeProvider("openai", model=MODEL) as provider:
        provider.default = lambda body: (200, {}, json.loads(provider._answer({"respond": "{}"})))
        config = _config(tmp_path, provider, "auto", "--database-url", atlas_db)
        assert main(["atlas", "run", "--config", str(config), "--episodes", "1", "--output", str(tmp_path / "r")]) == 0
    assert f"- {LESSON}" in _lines(tmp_path / "r")[0]["atlas"]["guidance"][0]
