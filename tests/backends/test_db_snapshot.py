"""``crm-env db snapshot`` / ``restore`` through the command line: the committed records and every learning
memory the database holds, restored exactly on any SQL backend (restoring twice changes nothing); a
memory that clashes with the target's is refused before anything is written."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from crm_env.cli.main import main
from crm_env.learning.entries import AddEntry, CountImpact, Cue, Entry, Impact, Lifecycle, SetStatus
from crm_env.learning.store import MemoryStore, snapshot_memories
from tests.conftest import postgres_url

CLIENT = "7d0c3c8e-2f6e-4c59-9d0a-3f1f6d1a2b01"
SEED = {"Client": [{"client_id": CLIENT, "name": "Acme Corporation", "email": "ops@acme.example",
                    "status": "Active", "industry": "Technology", "created_date": "2026-01-02T10:00:00Z"}]}
ENTRY = Entry(cue=Cue(keywords=("amount",)), instruction="Refuse an amount of zero and say why.",
              expected_effect="refusals give the reason", rationale="a refusal gave no reason")


def _file_url(tmp_path: Path, name: str) -> str:
    return f"sqlite:///{tmp_path / name}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def source(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return postgres_url() if request.param == "postgres" else _file_url(tmp_path, "source.db")


def _fill(url: str, tmp_path: Path, memory: str) -> None:
    (tmp_path / "seed.json").write_text(json.dumps(SEED))
    assert main(["db", "seed", str(tmp_path / "seed.json"), "--url", url]) == 0
    with MemoryStore(url, memory) as store:
        store.extend([AddEntry(entry=ENTRY, reason="proposed"),
                      SetStatus(entry_id=ENTRY.id, status=Lifecycle.ACTIVE, reason="promoted on 3 wins"),
                      CountImpact(entry_id=ENTRY.id, impact=Impact(injected=4, success_with=3), reason="run")])


def _snapshot(url: str, path: Path) -> dict:
    assert main(["db", "snapshot", str(path), "--url", url]) == 0
    return json.loads(path.read_text())


def test_a_snapshot_restores_records_and_learning_memories_exactly(source: str, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    memory = f"test-{uuid.uuid4().hex}"
    _fill(source, tmp_path, memory)
    taken = _snapshot(source, tmp_path / "snapshot.json")
    assert taken["records"]["Client"][0]["name"] == "Acme Corporation"
    assert [d["version"] for d in taken["learning_memories"][memory]] == [1, 2, 3]
    target = _file_url(tmp_path, "target.db")
    for _ in range(2):  # the second restore finds every memory already there
        assert main(["db", "restore", str(tmp_path / "snapshot.json"), "--url", target]) == 0
    assert "0 of" in capsys.readouterr().out.splitlines()[-1]
    again = _snapshot(target, tmp_path / "again.json")
    assert again == taken
    with MemoryStore(target, memory) as restored, MemoryStore(source, memory) as original:
        assert restored.state().entries == original.state().entries


def test_a_clashing_memory_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    source, target = _file_url(tmp_path, "source.db"), _file_url(tmp_path, "target.db")
    _fill(source, tmp_path, "default")
    _snapshot(source, tmp_path / "snapshot.json")
    with MemoryStore(target, "default") as store:  # another history under the same name
        store.append(AddEntry(entry=ENTRY.model_copy(update={"id": ""}), reason="elsewhere"))
    before = snapshot_memories(target)
    assert main(["db", "restore", str(tmp_path / "snapshot.json"), "--url", target]) == 2
    assert snapshot_memories(target) == before
    assert _snapshot(target, tmp_path / "after.json").get("records") == {}  # the CRM records were not loaded


def test_a_database_without_memories_snapshots_records_only(tmp_path: Path) -> None:
    url = _file_url(tmp_path, "crm.db")
    (tmp_path / "seed.json").write_text(json.dumps(SEED))
    assert main(["db", "seed", str(tmp_path / "seed.json"), "--url", url]) == 0
    taken = _snapshot(url, tmp_path / "snapshot.json")
    assert set(taken) == {"format", "records"} and snapshot_memories(url) == {}


def test_a_corrupt_memory_is_a_clear_error_and_no_snapshot_is_written(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    url = _file_url(tmp_path, "crm.db")
    _fill(url, tmp_path, "default")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE learning_deltas SET body = 'not json' WHERE version = 2"))
    engine.dispose()
    assert main(["db", "snapshot", str(tmp_path / "snapshot.json"), "--url", url]) == 2
    assert "holds a delta that is not JSON" in capsys.readouterr().err
    assert not (tmp_path / "snapshot.json").exists()
