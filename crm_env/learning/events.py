"""A learning run's events: typed, declared once, one JSON object per line of ``events.jsonl``.

Every event carries its sequence number in the run (``seq``, from 0, no gaps), the episode and, where it
belongs to one, the turn. The kinds (``EVENT_TYPES``) say what the loop did, how and why: which entries
were injected on a turn and from which memory version (and which matched but were held out, or did not
fit the budget), the turn's
verdict with its breakdown, what the teacher proposed and why (and the replies it skipped), its reviews of proposed writes in the
``paired`` lane, its takeovers in the ``escalate`` lane, the judge panel's grades, the ``adaptive`` lane's decisions and drift notes, each memory delta with its reason, and the
end of each episode (its outcome and the memory version after it: a run resumes after the last one).
``event_schema()`` is the JSON schema of a line, derived from the models.

``EventLog`` hands each batch of lines to the OS at once, so a run killed at any moment keeps every event
it wrote; ``sync`` (the run's group commit, and ``close``) makes them survive a power cut too. A torn last
line (the kill came mid-write) is cut off when the log is opened again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from crm_env.errors import ConfigError
from crm_env.eval.results import Usage
from crm_env.learning.entries import Delta, Entry

Lane = Literal["auto", "coach", "paired", "escalate", "adaptive"]


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    seq: int = Field(ge=0)
    episode_id: str = Field(min_length=1)
    turn_id: int | None = Field(default=None, ge=1)


class GuidanceInjected(_Event):
    kind: Literal["guidance_injected"] = "guidance_injected"
    lane: Lane
    memory_version: int = Field(ge=0)
    entry_ids: tuple[str, ...]
    withheld: tuple[str, ...] = ()  # matched, and held out by the seeded draw: the comparison group
    matched_not_injected: tuple[str, ...] = ()  # matched, but over the token budget (compared with nothing)
    cue: tuple[str, ...] = ()  # the request's cue, in the lanes that track one (escalate, adaptive)


class TurnVerdict(_Event):
    """The env's verdict of a turn (``judged``: the learning verdict, when a judge panel settled it)."""

    kind: Literal["verdict"] = "verdict"
    actor: Literal["student", "teacher"] = "student"  # teacher: the escalate lane took the turn over
    success: bool
    reward: float
    breakdown: dict[str, Any]
    judged: bool | None = None

    @property
    def learned(self) -> bool:
        """What learning counts as the turn's outcome."""
        return self.success if self.judged is None else self.judged


class JudgeGrade(BaseModel):
    """One LLM judge grade (``crm_env.learning.judges``); ``key`` is its cache key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    sample: int  # -1: the arbiter's
    key: str
    goal: float = Field(ge=0, le=1)
    process: float = Field(ge=0, le=1)
    score: float = Field(ge=0, le=1)
    rationale: str
    cached: bool


class JudgeSamples(_Event):
    """The judge panel on a turn the env did not fail: its samples, the arbiter when they disagreed."""

    kind: Literal["judge_samples"] = "judge_samples"
    samples: tuple[JudgeGrade, ...]
    spread: float | None
    arbiter: JudgeGrade | None = None
    score: float | None  # the panel's (None: no usable grade: the env's verdict stands)
    success: bool


class TeacherProposal(_Event):
    kind: Literal["teacher_proposal"] = "teacher_proposal"
    teacher: str
    entry: Entry
    why: str


class ProposalSkipped(_Event):
    """A teacher reply that was not valid guidance (``crm_env.learning.llm_teacher``): kept with its cause."""

    kind: Literal["proposal_skipped"] = "proposal_skipped"
    teacher: str
    cause: str


class TeacherReview(_Event):
    """The paired lane: the teacher's review of a write the student proposed, before the CRM saw it."""

    kind: Literal["teacher_review"] = "teacher_review"
    teacher: str
    tool: str
    approved: bool
    rule: str | None = None  # why it was stopped (a rule of the teacher), when it was
    reason: str | None = None
    guidance: str | None = None  # what the student was told for its one retry


class Takeover(_Event):
    """The escalate lane: the teacher plays this turn after the student's repeated failure on its cue."""

    kind: Literal["takeover"] = "takeover"
    teacher: str
    cue: tuple[str, ...]
    failures: int = Field(ge=1)  # the student's consecutive failed turns on the cue before it
    simulated: bool  # the rule teacher's takeover is the replay of the reference calls


class LaneDecision(_Event):
    """The adaptive lane's choice for a turn, with the estimate it rests on (``crm_env.learning.adaptive``)."""

    kind: Literal["lane_decision"] = "lane_decision"
    lane: Lane
    cue: tuple[str, ...]
    rate: float | None  # the student's recent success on this cue (None: too few turns)
    turns: int = Field(ge=0)
    why: str


class DriftNote(_Event):
    """A cue whose recent success dropped (``crm_env.learning.adaptive``); it is supervised more."""

    kind: Literal["drift_note"] = "drift_note"
    cue: tuple[str, ...]
    recent: float
    previous: float
    z: float


class MemoryDelta(_Event):
    kind: Literal["memory_delta"] = "memory_delta"
    delta: Delta


class EpisodeEnd(_Event):
    kind: Literal["episode_end"] = "episode_end"
    episode: int = Field(ge=0)  # its place in the run's stream
    conversation_id: str
    turns: int = Field(ge=0)
    turn_successes: int = Field(ge=0)
    strict_success: bool
    memory_version: int = Field(ge=0)  # after this episode's deltas
    usage: dict[str, Usage] = Field(default_factory=dict)  # LLM tokens and USD by role (none offline)


EVENT_TYPES = (GuidanceInjected, JudgeSamples, TurnVerdict, TeacherProposal, ProposalSkipped, TeacherReview, Takeover,
               LaneDecision, DriftNote, MemoryDelta, EpisodeEnd)
Event = Annotated[GuidanceInjected | JudgeSamples | TurnVerdict | TeacherProposal | ProposalSkipped | TeacherReview
                  | Takeover | LaneDecision | DriftNote | MemoryDelta | EpisodeEnd, Field(discriminator="kind")]
_EVENT: TypeAdapter[Any] = TypeAdapter(Event)


def event_schema() -> dict[str, Any]:
    """The JSON schema of one line of ``events.jsonl``."""
    return _EVENT.json_schema()


def parse_event(line: str) -> Any:
    """One line of ``events.jsonl`` as its event model."""
    return _EVENT.validate_json(line)


def _line(event: Any) -> str:
    return json.dumps(event.model_dump(mode="json"), sort_keys=True, separators=(",", ":")) + "\n"


def read_events(path: Path) -> tuple[list[Any], int]:
    """The events of a log and the size in bytes of its whole lines (a torn last line is not read).

    Raises:
        ConfigError: A line before the last one does not parse, or the sequence has a gap.
    """
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    complete, tail = lines[:-1], lines[-1]  # a file that ends with "\n" has an empty tail
    events: list[Any] = []
    for number, line in enumerate(complete, 1):
        try:
            event = parse_event(line.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: line {number} is not a learning event ({exc}); use a new run directory") from None
        if event.seq != len(events):
            raise ConfigError(f"{path}: line {number} has seq {event.seq}, expected {len(events)}")
        events.append(event)
    return events, len(raw) - len(tail)


class EventLog:
    """An append-only ``events.jsonl`` (see the module docstring).

    Raises:
        ConfigError: A line before the last one does not parse, or the sequence has a gap (the file is not
            this run's log, or was edited).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.events: list[Any] = []
        if self.path.exists():
            self._recover()
        self._file = self.path.open("a", encoding="utf-8")
        self._dirty = False

    def _recover(self) -> None:
        self.events, size = read_events(self.path)
        if size < self.path.stat().st_size:  # torn by a kill mid-write: never acknowledged, so it is dropped
            with self.path.open("r+b") as handle:
                handle.truncate(size)

    @property
    def next_seq(self) -> int:
        return len(self.events)

    def append(self, event: Any) -> None:
        """Write one event (its ``seq`` must be ``next_seq``); see ``extend``."""
        self.extend([event])

    def extend(self, events: Sequence[Any]) -> None:
        """Write events in order (their ``seq`` must follow on), handed to the OS at once: a killed process
        loses none of them; ``sync`` makes them survive a power cut."""
        lines = []
        for offset, event in enumerate(events):
            if event.seq != self.next_seq + offset:
                raise ConfigError(f"event seq {event.seq} does not follow {self.next_seq + offset - 1}")
            lines.append(_line(event))
        self._file.write("".join(lines))
        self._file.flush()
        self._dirty = True
        self.events.extend(events)

    def sync(self) -> None:
        """fsync what was written since the last sync."""
        if self._dirty:
            os.fsync(self._file.fileno())
            self._dirty = False

    def truncate(self, keep: int) -> None:
        """Drop every event after the first ``keep`` (a resumed run redoes an episode it did not finish)."""
        if keep >= len(self.events):
            return
        self._file.close()
        size = sum(len(_line(e).encode("utf-8")) for e in self.events[:keep])
        with self.path.open("r+b") as handle:
            handle.truncate(size)
            handle.flush()
            os.fsync(handle.fileno())
        del self.events[keep:]
        self._file = self.path.open("a", encoding="utf-8")
        self._dirty = False  # the fsync above covered the whole file

    def close(self) -> None:
        if not self._file.closed:
            self.sync()
            self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
