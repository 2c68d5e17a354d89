"""Learning events (``crm_env.learning.events``): typed lines, a derived JSON schema, durable appends that
survive a kill mid-write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from crm_env.errors import ConfigError
from crm_env.learning.entries import AddEntry, Cue, Delta, Entry
from crm_env.learning.events import (
    EVENT_TYPES,
    EpisodeEnd,
    EventLog,
    GuidanceInjected,
    MemoryDelta,
    TeacherProposal,
    TurnVerdict,
    event_schema,
    parse_event,
)

ENTRY = Entry(cue=Cue(keywords=("amount",)), instruction="Say the amount rule when refusing.",
              expected_effect="refusals give the reason", rationale="no reason given")


def _events() -> list:
    return [
        GuidanceInjected(seq=0, episode_id="arc-1#0", turn_id=1, lane="coach", memory_version=3,
                         entry_ids=(ENTRY.id,)),
        TurnVerdict(seq=1, episode_id="arc-1#0", turn_id=1, success=False, reward=0.0,
                    breakdown={"refusal": {"status": "fail", "score": 0.0, "rationale": "no reason"}}),
        TeacherProposal(seq=2, episode_id="arc-1#0", turn_id=1, teacher="rule", entry=ENTRY, why="refusal failed"),
        MemoryDelta(seq=3, episode_id="arc-1#0", delta=Delta(version=4, change=AddEntry(entry=ENTRY, reason="new"))),
        EpisodeEnd(seq=4, episode_id="arc-1#0", episode=0, conversation_id="arc-1", turns=1, turn_successes=0,
                   strict_success=False, memory_version=4),
    ]


def test_every_kind_round_trips_through_a_line(tmp_path: Path) -> None:
    with EventLog(tmp_path / "events.jsonl") as log:
        for event in _events():
            log.append(event)
    lines = (tmp_path / "events.jsonl").read_text().splitlines()
    assert [parse_event(line) for line in lines] == _events()
    assert json.loads(lines[1])["reward"] == 0.0 and json.loads(lines[0])["memory_version"] == 3  # numbers


def test_the_schema_is_derived_from_the_models() -> None:
    schema = json.dumps(event_schema())
    assert {t.model_fields["kind"].default for t in EVENT_TYPES} == {
        "guidance_injected", "judge_samples", "verdict", "teacher_proposal", "proposal_skipped", "teacher_review",
        "takeover", "lane_decision", "drift_note", "memory_delta", "episode_end"}
    assert all(t.__name__ in schema for t in EVENT_TYPES)


def test_a_torn_last_line_is_dropped_and_the_log_continues(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    with EventLog(path) as log:
        for event in _events()[:2]:
            log.append(event)
    with path.open("a") as handle:
        handle.write('{"seq": 2, "episode_id": "arc-1#0", "kin')  # killed mid-write
    with EventLog(path) as log:
        assert log.next_seq == 2
        log.append(_events()[2])
    assert [parse_event(line).seq for line in path.read_text().splitlines()] == [0, 1, 2]


def test_gaps_and_foreign_lines_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    with EventLog(path) as log:
        with pytest.raises(ConfigError, match="does not follow"):
            log.append(_events()[1])
        log.append(_events()[0])
    path.write_text(path.read_text() + '{"not": "an event"}\n')
    with pytest.raises(ConfigError, match="line 2 is not a learning event"):
        EventLog(path)


def test_events_reject_unknown_fields_and_bad_values() -> None:
    with pytest.raises(ValidationError):
        GuidanceInjected(seq=0, episode_id="e", lane="supervise", memory_version=0, entry_ids=())
    with pytest.raises(ValidationError):
        parse_event('{"kind": "verdict", "seq": -1, "episode_id": "e", "success": true, "reward": 1, "breakdown": {}}')


def test_truncate_keeps_the_first_events_and_the_log_continues(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    with EventLog(path) as log:
        log.extend(_events())
        log.truncate(2)
        log.append(_events()[2])
    assert [parse_event(line).kind for line in path.read_text().splitlines()] == [
        "guidance_injected", "verdict", "teacher_proposal"]
    assert len(EventLog(path).events) == 3
