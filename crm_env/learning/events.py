"""A learning run's events: typed, declared once, one JSON object per line of ``events.jsonl``.

Every event carries its sequence number in the run (``seq``, from 0, no gaps), the episode and, where it
belongs to one, the turn. The kinds (``EVENT_TYPES``) say what the loop did, how and why: which entries
were injected on a turn and from which memory version (and which matched but did not fit), the turn's
verdict with its breakdown, what the teacher proposed and why, and each memory delta with its reason.
``event_schema()`` is the JSON schema of a line, derived from the models.

``EventLog`` appends a line at a time, flushed and fsync'd, so a run killed at any moment keeps every
event it wrote; a torn last line (the kill came mid-write) is cut off when the log is opened again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from crm_env.errors import ConfigError
from crm_env.learning.entries import Delta, Entry

Lane = Literal["auto", "coach"]


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
    matched_not_injected: tuple[str, ...] = ()


class TurnVerdict(_Event):
    kind: Literal["verdict"] = "verdict"
    success: bool
    reward: float
    breakdown: dict[str, Any]


class TeacherProposal(_Event):
    kind: Literal["teacher_proposal"] = "teacher_proposal"
    teacher: str
    entry: Entry
    why: str


class MemoryDelta(_Event):
    kind: Literal["memory_delta"] = "memory_delta"
    delta: Delta


EVENT_TYPES = (GuidanceInjected, TurnVerdict, TeacherProposal, MemoryDelta)
Event = Annotated[GuidanceInjected | TurnVerdict | TeacherProposal | MemoryDelta, Field(discriminator="kind")]
_EVENT: TypeAdapter[Any] = TypeAdapter(Event)


def event_schema() -> dict[str, Any]:
    """The JSON schema of one line of ``events.jsonl``."""
    return _EVENT.json_schema()


def parse_event(line: str) -> Any:
    """One line of ``events.jsonl`` as its event model."""
    return _EVENT.validate_json(line)


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

    def _recover(self) -> None:
        raw = self.path.read_bytes()
        lines = raw.split(b"\n")
        complete, tail = lines[:-1], lines[-1]  # a file that ends with "\n" has an empty tail
        for number, line in enumerate(complete, 1):
            try:
                event = parse_event(line.decode("utf-8"))
            except (ValueError, UnicodeDecodeError) as exc:
                raise ConfigError(f"{self.path}: line {number} is not a learning event ({exc}); "
                                  "use a new run directory") from None
            if event.seq != len(self.events):
                raise ConfigError(f"{self.path}: line {number} has seq {event.seq}, expected {len(self.events)}")
            self.events.append(event)
        if tail:  # torn by a kill mid-write: never acknowledged, so it is dropped
            with self.path.open("r+b") as handle:
                handle.truncate(len(raw) - len(tail))

    @property
    def next_seq(self) -> int:
        return len(self.events)

    def append(self, event: Any) -> None:
        """Write one event (its ``seq`` must be ``next_seq``), durably."""
        if event.seq != self.next_seq:
            raise ConfigError(f"event seq {event.seq} does not follow {self.next_seq - 1}")
        self._file.write(json.dumps(event.model_dump(mode="json"), sort_keys=True, separators=(",", ":")) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        self.events.append(event)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
