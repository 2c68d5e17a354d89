"""Playbook entries and the deltas that change them: the learning memory's data, declared once.

An entry is guidance distilled from episodes: for whom (student or teacher), when it applies (its *cue*,
read in the user's request text, never in dataset labels), what to do (an imperative instruction of at
most ``MAX_INSTRUCTION`` characters), what it should change and why, the evidence it came from, where it
stands in its lifecycle and its measured impact. Its id is a hash of audience, cue and instruction, so the
same guidance proposed twice is the same entry.

Every change is a ``Delta``: added, moved along the lifecycle, given more evidence, or counted. Deltas are
append-only; the memory at version N is the first N deltas folded in order (``crm_env.learning.memory``).
"""

from __future__ import annotations

import hashlib
import json
import re
from enum import Enum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

MAX_INSTRUCTION = 200
Audience = Literal["student", "teacher"]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class Lifecycle(str, Enum):
    CANDIDATE = "candidate"
    ACTIVE = "active"
    RETIRED = "retired"


# The moves an entry may make; retired is final.
TRANSITIONS: dict[Lifecycle, frozenset[Lifecycle]] = {
    Lifecycle.CANDIDATE: frozenset({Lifecycle.ACTIVE, Lifecycle.RETIRED}),
    Lifecycle.ACTIVE: frozenset({Lifecycle.RETIRED}),
    Lifecycle.RETIRED: frozenset(),
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Cue(_Model):
    """When an entry applies: any keyword (whole words, case-insensitive) or the regex found in the user's
    request; ``entities`` and ``tools`` narrow it to requests about those record types or tools."""

    keywords: tuple[Text, ...] = ()
    regex: Text | None = None
    entities: tuple[Text, ...] = ()
    tools: tuple[Text, ...] = ()

    @field_validator("regex")
    @classmethod
    def _compiles(cls, regex: str | None) -> str | None:
        if regex is not None:
            try:
                re.compile(regex)
            except re.error as exc:
                raise ValueError(f"cue regex {regex!r} does not compile: {exc}") from None
        return regex

    @model_validator(mode="after")
    def _something_to_match(self) -> Cue:
        if not self.keywords and self.regex is None:
            raise ValueError("a cue needs keywords or a regex to match in the request text")
        return self


class Evidence(_Model):
    """Where an entry came from: an episode's turn and the verdict's rationale there."""

    episode_id: Text
    turn_id: int = Field(ge=1)
    rationale: Text


class Impact(_Model):
    """Counted outcomes: turns it was injected on, turns its cue matched but it was not injected (the
    comparison group), and successes in each."""

    injected: int = Field(default=0, ge=0)
    success_with: int = Field(default=0, ge=0)
    matched_not_injected: int = Field(default=0, ge=0)
    success_without: int = Field(default=0, ge=0)

    def plus(self, other: Impact) -> Impact:
        return Impact(**{name: getattr(self, name) + getattr(other, name) for name in Impact.model_fields})

    @model_validator(mode="after")
    def _successes_bounded(self) -> Impact:
        if self.success_with > self.injected or self.success_without > self.matched_not_injected:
            raise ValueError("more successes than turns counted")
        return self


class Entry(_Model):
    """One piece of guidance (see the module docstring)."""

    id: str = ""
    audience: Audience = "student"
    cue: Cue
    instruction: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_INSTRUCTION)]
    expected_effect: Text
    rationale: Text
    evidence: tuple[Evidence, ...] = ()
    status: Lifecycle = Lifecycle.CANDIDATE
    status_reason: str = "proposed"
    impact: Impact = Impact()

    @model_validator(mode="after")
    def _content_id(self) -> Entry:
        expected = entry_id(self.audience, self.cue, self.instruction)
        if self.id and self.id != expected:
            raise ValueError(f"entry id {self.id!r} is not the hash of its audience, cue and instruction "
                             f"({expected!r}); leave it out to have it computed")
        object.__setattr__(self, "id", expected)
        return self


def entry_id(audience: str, cue: Cue, instruction: str) -> str:
    """The content hash that names an entry (normalised instruction: case and spacing do not count)."""
    body = json.dumps([audience, cue.model_dump(mode="json"), " ".join(instruction.lower().split())],
                      sort_keys=True, separators=(",", ":"))
    return "e-" + hashlib.sha256(body.encode()).hexdigest()[:16]


class AddEntry(_Model):
    op: Literal["add"] = "add"
    entry: Entry
    reason: Text


class SetStatus(_Model):
    op: Literal["set_status"] = "set_status"
    entry_id: str
    status: Lifecycle
    reason: Text


class AddEvidence(_Model):
    op: Literal["add_evidence"] = "add_evidence"
    entry_id: str
    evidence: tuple[Evidence, ...] = Field(min_length=1)
    reason: Text


class CountImpact(_Model):
    op: Literal["count_impact"] = "count_impact"
    entry_id: str
    impact: Impact
    reason: Text


Change = Annotated[AddEntry | SetStatus | AddEvidence | CountImpact, Field(discriminator="op")]


class Delta(_Model):
    """One change with its place in the memory's history (versions start at 1 and have no gaps)."""

    version: int = Field(ge=1)
    change: Change
