"""The learning memory's contract, on a SQLite file and on PostgreSQL: versioned append-only deltas, the
memory at any version reproducible, changes checked before anything is written, JSON export / import, and
concurrent writers that never lose a delta."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from crm_env.errors import ConfigError, InfrastructureError
from crm_env.learning.entries import (
    MAX_INSTRUCTION,
    AddEntry,
    AddEvidence,
    CountImpact,
    Cue,
    Delta,
    Entry,
    Evidence,
    Impact,
    Lifecycle,
    SetStatus,
)
from crm_env.learning.memory import PlaybookError, PlaybookState, export_json, fold, import_json
from crm_env.learning.store import MemoryStore
from tests.conftest import postgres_url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return postgres_url() if request.param == "postgres" else f"sqlite:///{tmp_path / 'memory.db'}"


@pytest.fixture
def store(url: str) -> Iterator[MemoryStore]:
    with MemoryStore(url, name=f"test-{uuid.uuid4().hex}") as memory:
        yield memory


def _entry(n: int = 0, **extra: object) -> Entry:
    return Entry(cue=Cue(keywords=(f"amount{n}",)), instruction=f"Refuse amount {n} and say the rule.",
                 expected_effect="refusals give the reason", rationale="a refusal gave no reason",
                 evidence=(Evidence(episode_id="ep-1", turn_id=2, rationale="no reason given"),), **extra)


def test_entries_are_named_by_their_content() -> None:
    a, b = _entry(1), _entry(1)
    assert a.id == b.id and a.id.startswith("e-") and _entry(2).id != a.id
    same = Entry(cue=Cue(keywords=("amount1",)), instruction="refuse  AMOUNT 1 and say the rule.",
                 expected_effect="x", rationale="y")
    assert same.id == a.id  # case and spacing of the instruction do not count
    with pytest.raises(ValidationError, match="not the hash"):
        Entry(id="e-0000", cue=Cue(keywords=("a",)), instruction="x", expected_effect="x", rationale="y")


@pytest.mark.parametrize("bad", [
    {"cue": {"keywords": []}},
    {"cue": {"regex": "("}},
    {"instruction": "x" * (MAX_INSTRUCTION + 1)},
    {"instruction": "   "},
    {"audience": "manager"},
])
def test_invalid_entries_are_refused_with_the_reason(bad: dict) -> None:
    fields = {"cue": {"keywords": ["a"]}, "instruction": "Do it.", "expected_effect": "x", "rationale": "y", **bad}
    with pytest.raises(ValidationError):
        Entry.model_validate(fields)


def test_versions_count_from_one_and_every_version_is_reproducible(store: MemoryStore) -> None:
    first = store.append(AddEntry(entry=_entry(1), reason="proposed"))
    store.append(SetStatus(entry_id=first.change.entry.id, status=Lifecycle.ACTIVE, reason="promoted on 3 wins"))
    store.append(CountImpact(entry_id=first.change.entry.id, impact=Impact(injected=2, success_with=1), reason="run"))
    store.append(CountImpact(entry_id=first.change.entry.id, impact=Impact(injected=1, success_with=1), reason="run"))
    assert [d.version for d in store.deltas()] == [1, 2, 3, 4]
    assert store.state(1).entries[first.change.entry.id].status is Lifecycle.CANDIDATE
    assert store.state(2).entries[first.change.entry.id].status is Lifecycle.ACTIVE
    assert store.state().entries[first.change.entry.id].impact == Impact(injected=3, success_with=2)
    with MemoryStore(store.url, store.name) as reopened:
        assert reopened.state().entries == store.state().entries and reopened.state().version == 4
    store.state().entries.clear()  # a copy: the store's own memory is untouched
    assert len(store.state().entries) == 1
    with pytest.raises(PlaybookError, match="version 9 does not exist"):
        store.state(9)


@pytest.mark.parametrize("change", [
    lambda e: AddEntry(entry=e, reason="twice"),
    lambda e: SetStatus(entry_id="e-missing", status=Lifecycle.ACTIVE, reason="x"),
    lambda e: SetStatus(entry_id=e.id, status=Lifecycle.CANDIDATE, reason="back to candidate"),
    lambda e: AddEvidence(entry_id="e-missing", evidence=(Evidence(episode_id="x", turn_id=1, rationale="r"),),
                          reason="x"),
])
def test_a_change_that_cannot_apply_writes_nothing(store: MemoryStore, change) -> None:
    entry = _entry(1)
    store.append(AddEntry(entry=entry, reason="proposed"))
    store.append(SetStatus(entry_id=entry.id, status=Lifecycle.RETIRED, reason="harmful: 1/5 with, 4/5 without"))
    before = store.deltas()
    with pytest.raises(PlaybookError):
        store.append(change(entry))
    assert store.deltas() == before
    with MemoryStore(store.url, store.name) as reopened:
        assert reopened.state().version == 2


def test_changes_folded_by_the_caller_are_stored_as_they_are(store: MemoryStore) -> None:
    entry = _entry(1)
    changes = [AddEntry(entry=entry, reason="proposed"),
               SetStatus(entry_id=entry.id, status=Lifecycle.ACTIVE, reason="promoted")]
    folded = PlaybookState()
    for n, change in enumerate(changes, 1):
        folded.apply(Delta(version=n, change=change))
    with pytest.raises(PlaybookError, match="cannot come from 1 change"):
        store.extend(changes[:1], at_version=0, folded=folded)
    assert store.deltas() == []
    stored = store.extend(changes, at_version=0, folded=folded)
    folded.entries.clear()  # the store keeps its own copy
    with MemoryStore(store.url, store.name) as reopened:
        assert reopened.deltas() == stored and reopened.state().entries == store.state().entries
    assert store.state().entries[entry.id].status is Lifecycle.ACTIVE


def test_export_and_import_round_trip(store: MemoryStore, url: str) -> None:
    entry = _entry(1)
    store.extend([AddEntry(entry=entry, reason="proposed"),
                  AddEvidence(entry_id=entry.id, evidence=(Evidence(episode_id="ep-9", turn_id=1, rationale="r"),),
                              reason="seen again")])
    text = export_json(store.deltas())
    assert '"version": 1' in text and '"turn_id": 1' in text  # numbers stay numbers
    with MemoryStore(url, name=f"copy-{uuid.uuid4().hex}") as copy:
        copy.load(import_json(text))
        assert copy.state().entries == store.state().entries
        with pytest.raises(PlaybookError, match="not empty"):
            copy.load(import_json(text))


@pytest.mark.parametrize(("text", "message"), [
    ("not json", "not JSON"),
    ('{"deltas": []}', "format"),
    ('{"format": 1, "deltas": [{"version": 1, "change": {"op": "explode"}}]}', "does not validate"),
    (('{"format": 1, "deltas": [{"version": 2, "change": {"op": "set_status", "entry_id": "e", "status": "active", '
      '"reason": "r"}}]}'), "does not follow"),
])
def test_a_bad_import_is_refused_and_stores_nothing(store: MemoryStore, text: str, message: str) -> None:
    with pytest.raises(PlaybookError, match=message):
        store.load(import_json(text))
    assert store.deltas() == []


def test_concurrent_writers_never_lose_a_delta(url: str) -> None:
    name = f"race-{uuid.uuid4().hex}"
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            with MemoryStore(url, name) as memory:
                for n in range(10):
                    memory.append(AddEntry(entry=_entry(worker * 100 + n), reason=f"writer {worker}"))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    with MemoryStore(url, name) as memory:
        deltas = memory.deltas()
        assert [d.version for d in deltas] == list(range(1, 41))
        assert len(fold(deltas).entries) == 40


@pytest.mark.parametrize("bad", ["nosuchdb://x", "postgresql+psycopg://nobody:secretpw@127.0.0.1:1/x"])
def test_a_bad_or_unreachable_url_is_a_clear_error_without_the_password(bad: str) -> None:
    with pytest.raises((ConfigError, InfrastructureError)) as caught:
        MemoryStore(bad)
    assert "secretpw" not in str(caught.value) and str(caught.value)


def test_the_memory_table_is_created_on_a_database_the_crm_store_already_uses(tmp_path: Path) -> None:
    """Schema creation is remembered per (URL, tables): the CRM store opening the URL first must not make
    the learning memory skip creating its own table."""
    from crm_env import CrmSandbox

    url = f"sqlite:///{tmp_path / 'shared.db'}"
    box = CrmSandbox(url)
    try:
        with MemoryStore(url, name="shared") as memory:
            assert memory.append(AddEntry(entry=_entry(1), reason="proposed")).version == 1
    finally:
        box.close()
