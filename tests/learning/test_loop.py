"""The continual-learning loop end to end (``crm_env.learning.run``): 300 seeded train episodes of the
simulated scripted student with the rule teacher are deterministic, success rises against the same stream
without guidance, a placebo memory changes nothing, a planted harmful entry is retired, and a run broken
between its two writes, or with deltas its group commit had not stored yet, resumes to the same files. Simulated: these test the machinery, not an uplift."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

import pytest

from crm_env.datasets.loader import splits_manifest
from crm_env.errors import ConfigError
from crm_env.learning import run as learning_run
from crm_env.learning.entries import AddEntry, Cue, Delta, Entry, Lifecycle, SetStatus
from crm_env.learning.events import EpisodeEnd, EventLog, GuidanceInjected, MemoryDelta, parse_event
from crm_env.learning.memory import export_json
from crm_env.learning.run import WINDOW, LearnConfig, run_learning
from crm_env.learning.store import MemoryStore
from tests.conftest import postgres_url
from tests.envs.helpers import datasets_available

pytestmark = pytest.mark.skipif(not datasets_available(), reason="the packaged dataset is not available")
FILES = ("events.jsonl", "memory.json", "summary.json")
HARMFUL = Entry(cue=Cue(keywords=("deal", "opportunity", "client", "contact", "quote", "contract", "stage", "amount")),
                instruction="After every change, also add a note to the record saying what you did.",
                expected_effect="an audit trail", rationale="planted on purpose: the scripted student is misled by it")


def _run(out: Path, resume: bool = False, **config: object) -> dict:
    return run_learning(LearnConfig(**config), out, resume=resume, given=config, progress=False, console=io.StringIO())


def _events(out: Path) -> list:
    return [parse_event(line) for line in (out / "events.jsonl").read_text().splitlines()]


def _outcomes(out: Path) -> list[tuple[str, int, int]]:
    return [(e.conversation_id, e.turns, e.turn_successes) for e in _events(out) if isinstance(e, EpisodeEnd)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("learn")
    out = {name: base / name for name in ("rule", "again", "placebo", "auto")}
    _run(out["rule"])
    _run(out["again"])
    _run(out["placebo"], teacher="placebo")
    _run(out["auto"], lane="auto")
    return out


def test_a_seeded_run_is_byte_identical(runs: dict[str, Path]) -> None:
    for name in FILES:
        assert (runs["rule"] / name).read_bytes() == (runs["again"] / name).read_bytes(), name
    assert len(_outcomes(runs["rule"])) == 300


def test_success_rises_across_windows_against_the_same_stream_unguided(runs: dict[str, Path]) -> None:
    rule = json.loads((runs["rule"] / "summary.json").read_text())
    auto = json.loads((runs["auto"] / "summary.json").read_text())
    assert rule["simulated"] is True and len(rule["windows"]) == 300 // WINDOW
    rates = [w["turn_success"] for w in rule["windows"]]
    unguided = [w["turn_success"] for w in auto["windows"]]
    assert sum(rates[3:]) / 3 >= rates[0] + 0.05  # later windows above the first
    assert all(r > u for r, u in zip(rates[1:], unguided[1:], strict=True))  # and above the same stream unguided
    assert [c for c, _, _ in _outcomes(runs["rule"])] == [c for c, _, _ in _outcomes(runs["auto"])]
    assert rule["memory"]["active"] > 0 and rule["guided_share"] > 0.5


def test_a_placebo_memory_changes_no_outcome(runs: dict[str, Path]) -> None:
    placebo = json.loads((runs["placebo"] / "summary.json").read_text())
    assert placebo["memory"]["active"] > 0 and placebo["guided_share"] > 0.5  # it was injected...
    assert _outcomes(runs["placebo"]) == _outcomes(runs["auto"])  # ...and changed nothing
    assert placebo["memory"]["retired"] == 0  # no entry retired on noise


def test_the_auto_lane_injects_nothing_and_compares_everything(runs: dict[str, Path]) -> None:
    guidance = [e for e in _events(runs["auto"]) if isinstance(e, GuidanceInjected)]
    assert guidance and all(e.lane == "auto" and not e.entry_ids for e in guidance)
    assert any(e.withheld for e in guidance)


def test_no_held_out_conversation_is_played(runs: dict[str, Path]) -> None:
    held_out = set(splits_manifest()["splits"]["test"])
    played = {c for c, _, _ in _outcomes(runs["rule"])}
    assert played <= set(splits_manifest()["splits"]["train"]) and not played & held_out
    assert json.loads((runs["rule"] / "run.json").read_text())["splits_read"] == ["arc-crm-1200:train"]


def test_events_carry_the_memory_version_each_episode_saw(runs: dict[str, Path]) -> None:
    version = 0
    for event in _events(runs["rule"]):
        if isinstance(event, GuidanceInjected):
            assert event.memory_version == version
        elif isinstance(event, MemoryDelta):
            assert event.delta.version > version
        elif isinstance(event, EpisodeEnd):
            version = event.memory_version


def test_a_planted_harmful_entry_is_retired(tmp_path: Path) -> None:
    planted = tmp_path / "planted.json"
    planted.write_text(export_json([
        Delta(version=1, change=AddEntry(entry=HARMFUL, reason="planted")),
        Delta(version=2, change=SetStatus(entry_id=HARMFUL.id, status=Lifecycle.ACTIVE, reason="planted"))]))
    _run(tmp_path / "run", episodes=100, import_memory=str(planted))
    events = _events(tmp_path / "run")
    (retired,) = [e for e in events if isinstance(e, MemoryDelta) and isinstance(e.delta.change, SetStatus)
                  and e.delta.change.entry_id == HARMFUL.id]
    assert retired.delta.change.status is Lifecycle.RETIRED and retired.delta.change.reason.startswith("harmful")
    after = events.index(retired)
    assert not any(isinstance(e, GuidanceInjected) and HARMFUL.id in e.entry_ids for e in events[after:])


def test_a_run_broken_between_its_writes_resumes_to_the_same_files(runs: dict[str, Path], tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed after an episode's events were written but before its memory deltas were (a group commit
    after every episode here): the resume stores them from the events; an unfinished episode's events are
    dropped and replayed."""
    out = tmp_path / "broken"
    monkeypatch.setattr(learning_run, "SYNC_INTERVAL_S", 0.0)
    real = MemoryStore.extend
    calls = {"n": 0}

    def dies_on_the_40th_episode(self: MemoryStore, changes: list, **kw: object) -> list:
        calls["n"] += 1
        if calls["n"] == 40:
            raise KeyboardInterrupt
        return real(self, changes, **kw)

    monkeypatch.setattr(MemoryStore, "extend", dies_on_the_40th_episode)
    with pytest.raises(KeyboardInterrupt):
        _run(out)
    monkeypatch.setattr(MemoryStore, "extend", real)
    with (out / "events.jsonl").open("a") as handle:  # and a torn line of the next episode
        handle.write('{"kind":"guidance_injected","seq":')
    _run(out, resume=True)
    with pytest.raises(ConfigError, match="already holds a learning run"):
        _run(out)
    for name in FILES:
        assert (out / name).read_bytes() == (runs["rule"] / name).read_bytes(), name


def test_deltas_held_by_the_group_commit_are_restored_from_the_events(runs: dict[str, Path], tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A group commit that never came: 120 episodes' events written, none of their deltas stored."""
    out = tmp_path / "held"
    monkeypatch.setattr(learning_run, "SYNC_INTERVAL_S", 3600.0)
    real = EventLog.extend
    calls = {"n": 0}

    def dies_on_the_121st_episode(self: EventLog, events: list) -> None:
        calls["n"] += 1
        if calls["n"] == 121:
            raise KeyboardInterrupt
        real(self, events)

    monkeypatch.setattr(EventLog, "extend", dies_on_the_121st_episode)
    with pytest.raises(KeyboardInterrupt):
        _run(out)
    monkeypatch.setattr(EventLog, "extend", real)
    with MemoryStore(f"sqlite:///{out / 'memory.db'}") as store:
        assert store.state().version == 0  # everything learned so far lives in the events alone
    assert len([e for e in _events(out) if isinstance(e, EpisodeEnd)]) == 120
    _run(out, resume=True)
    for name in FILES:
        assert (out / name).read_bytes() == (runs["rule"] / name).read_bytes(), name


@pytest.mark.postgres
def test_the_memory_on_postgresql_learns_the_same(runs: dict[str, Path], tmp_path: Path) -> None:
    _run(tmp_path / "pg", episodes=60, memory=postgres_url(), memory_name=f"test-{uuid.uuid4().hex}")
    _run(tmp_path / "sqlite", episodes=60)
    for name in FILES:
        assert (tmp_path / "pg" / name).read_bytes() == (tmp_path / "sqlite" / name).read_bytes(), name
