"""``results.jsonl``: one typed line per (conversation, trial), written so that a kill loses nothing.

Each line is a ``ResultLine``: the episode's status (``completed`` or ``infra_error`` with its cause),
the conversation's metadata (workflow, complexity, each turn's intent and failure category), and every
turn with the agent's actions, the CRM's results and errors, the LLM calls (tokens, latency, cost), the
verdict and its reward breakdown. Numbers are JSON numbers, booleans are booleans.

Durability: ``ResultsWriter.append`` writes one complete line with a single ``write`` on a file opened
for appending, then flushes and ``fsync``s it. ``load_results`` tolerates a torn last line (a kill
during a write) and ``compact`` rewrites the file atomically before a resume: one line per pair, the
completed ones only; the infrastructure failures it drops are carried into the retried line's
``infra_history``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

RESULT_VERSION = 1
Role = Literal["agent", "judge"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LlmCallRecord(_Strict):
    role: str
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    latency_s: float
    attempts: int
    cost_usd: float


class Usage(_Strict):
    """Tokens and cost of one role."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float = 0.0

    def add(self, call: LlmCallRecord) -> None:
        self.calls += 1
        self.input_tokens += call.input_tokens
        self.output_tokens += call.output_tokens
        self.cached_tokens += call.cached_tokens
        self.cost_usd += call.cost_usd

    def merge(self, other: Usage) -> None:
        self.calls += other.calls
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cached_tokens += other.cached_tokens
        self.cost_usd += other.cost_usd


class StepRecord(_Strict):
    """One agent action and what the CRM answered."""

    action: str
    tool: str | None = None  # None for a reply or an invalid action
    ok: bool | None = None  # None for a reply
    error_type: str | None = None
    error: str | None = None
    result: Any = None  # the tool result's data
    agent_latency_s: float = 0.0
    llm_calls: list[LlmCallRecord] = Field(default_factory=list)


class ComponentRecord(_Strict):
    status: str
    score: float | None
    rationale: str
    details: dict[str, Any] = Field(default_factory=dict)


class TurnRecord(_Strict):
    turn_id: int
    intent: str
    failure_category: str | None
    expect_success: bool
    is_write: bool
    steps: list[StepRecord]
    reply: str
    success: bool
    shaped_reward: float
    tool_errors: int
    judge_error: bool
    breakdown: dict[str, ComponentRecord]
    judge_calls: list[LlmCallRecord] = Field(default_factory=list)
    latency_s: float


class ResultLine(_Strict):
    """One (conversation, trial) episode."""

    result_version: Literal[1] = RESULT_VERSION
    conversation_id: str
    trial: int
    status: Literal["completed", "infra_error"]
    cause: str | None = None  # the infrastructure failure, when status is infra_error
    infra_history: list[str] = Field(default_factory=list)  # earlier infrastructure failures of this pair
    workflow: str
    complexity: str
    n_turns: int
    seed: int
    session: str
    started_at: float
    finished_at: float
    latency_s: float
    strict_success: bool | None = None  # None unless completed
    turns: list[TurnRecord] = Field(default_factory=list)
    usage: dict[str, Usage] = Field(default_factory=dict)
    atlas: dict[str, Any] | None = None  # an Atlas SDK session's own record (crm_env.integrations.atlas)

    @property
    def key(self) -> tuple[str, int]:
        return (self.conversation_id, self.trial)

    @property
    def cost_usd(self) -> float:
        return sum(u.cost_usd for u in self.usage.values())


@dataclass
class LoadedResults:
    """What a results file holds: the last line per pair, and what was wrong with the file."""

    lines: dict[tuple[str, int], ResultLine] = field(default_factory=dict)
    torn_tail: bool = False
    duplicates: int = 0
    infra_history: dict[tuple[str, int], list[str]] = field(default_factory=dict)

    @property
    def completed(self) -> list[ResultLine]:
        return [line for line in self.lines.values() if line.status == "completed"]

    @property
    def infra_errors(self) -> list[ResultLine]:
        return [line for line in self.lines.values() if line.status == "infra_error"]


def load_results(path: Path) -> LoadedResults:
    """Read ``results.jsonl``. A completed line for a pair wins over infrastructure failures.

    Raises:
        ValueError: A line other than the last is not a valid result line (the file is corrupt).
    """
    loaded = LoadedResults()
    if not path.is_file():
        return loaded
    raw = path.read_bytes().split(b"\n")
    tail = raw.pop()  # the bytes after the last newline: empty, or a torn line
    if tail.strip():
        loaded.torn_tail = True
    for number, text in enumerate(raw, start=1):
        if not text.strip():
            continue
        try:
            line = ResultLine.model_validate_json(text)
        except ValidationError as exc:
            raise ValueError(f"{path}:{number}: not a result line: {exc.errors()[0]['msg']}") from None
        previous = loaded.lines.get(line.key)
        if line.status == "infra_error":
            loaded.infra_history.setdefault(line.key, []).append(line.cause or "unknown")
        if previous is None:
            loaded.lines[line.key] = line
        elif previous.status == "completed":
            loaded.duplicates += line.status == "completed"
        else:
            loaded.lines[line.key] = line
    return loaded


def compact(path: Path, loaded: LoadedResults) -> None:
    """Rewrite ``path`` atomically with only the completed lines (for a resume)."""
    keep = [line for line in loaded.lines.values() if line.status == "completed"]
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as handle:
        for line in keep:
            handle.write(encode(line))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def encode(line: ResultLine) -> bytes:
    return line.model_dump_json().encode("utf-8") + b"\n"


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# A group commit's window: how much a power cut may cost a run that --resume then redoes.
SYNC_INTERVAL_S = 0.2


class ResultsWriter:
    """Appends complete lines by group commit: each line is handed to the OS with one ``write`` at once (a
    killed process loses nothing written), and ``fsync`` runs at most every ``SYNC_INTERVAL_S`` and at
    ``close`` (a power cut loses at most that window, which ``--resume`` redoes)."""

    SYNC_INTERVAL_S = SYNC_INTERVAL_S

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        _fsync_dir(path.parent)
        self._synced = time.monotonic()
        self._dirty = False

    def append(self, line: ResultLine) -> None:
        data = encode(line)
        written = os.write(self._fd, data)
        while written < len(data):  # a short write (rare; e.g. a full disk) is finished, never left torn
            written += os.write(self._fd, data[written:])
        self._dirty = True
        if time.monotonic() - self._synced >= self.SYNC_INTERVAL_S:
            self.sync()

    def sync(self) -> None:
        if self._dirty:
            os.fsync(self._fd)
            self._dirty = False
        self._synced = time.monotonic()

    def close(self) -> None:
        if self._fd >= 0:
            self.sync()
            os.close(self._fd)
            self._fd = -1


def iter_turns(lines: Iterable[ResultLine]) -> Iterable[tuple[ResultLine, TurnRecord]]:
    for line in lines:
        for turn in line.turns:
            yield line, turn
