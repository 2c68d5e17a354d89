"""The learning memory: playbook entries folded from append-only deltas.

``PlaybookState`` is the memory at one version, rebuilt by folding deltas in order, so the memory at any
version is reproducible. ``check`` validates a change against a state before anything is written (an
entry added twice, an unknown entry, a lifecycle move that is not allowed), so a delta is applied whole or
not at all. Export and import are JSON: ``{"format": 1, "deltas": [...]}``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError

from crm_env.errors import ConfigError
from crm_env.learning.entries import (
    TRANSITIONS,
    AddEntry,
    AddEvidence,
    Change,
    CountImpact,
    Delta,
    Entry,
    Lifecycle,
    SetStatus,
)

EXPORT_FORMAT = 1
_DELTAS = TypeAdapter(list[Delta])


class PlaybookError(ConfigError):
    """A change the memory cannot take (it is left unchanged)."""


@dataclass
class PlaybookState:
    """The entries at ``version`` (0: empty)."""

    version: int = 0
    entries: dict[str, Entry] = field(default_factory=dict)

    def by_status(self, status: Lifecycle) -> list[Entry]:
        return [e for e in self.entries.values() if e.status is status]

    def check(self, change: Change) -> None:
        """Raise ``PlaybookError`` when the change cannot apply to this state (nothing is modified)."""
        if isinstance(change, AddEntry):
            if change.entry.id in self.entries:
                raise PlaybookError(f"entry {change.entry.id} is already in the memory; add evidence to it instead")
            return
        entry = self.entries.get(change.entry_id)
        if entry is None:
            raise PlaybookError(f"no entry {change.entry_id!r} in the memory (version {self.version})")
        if isinstance(change, SetStatus) and change.status not in TRANSITIONS[entry.status]:
            raise PlaybookError(f"entry {entry.id} cannot move from {entry.status.value} to {change.status.value}")

    def apply(self, delta: Delta) -> None:
        """Fold one delta in (it must be the next version and pass ``check``)."""
        if delta.version != self.version + 1:
            raise PlaybookError(f"delta version {delta.version} does not follow {self.version}")
        change = delta.change
        self.check(change)
        if isinstance(change, AddEntry):
            entry = change.entry
        else:
            current = self.entries[change.entry_id]
            if isinstance(change, SetStatus):
                entry = current.model_copy(update={"status": change.status, "status_reason": change.reason})
            elif isinstance(change, AddEvidence):
                entry = current.model_copy(update={"evidence": current.evidence + change.evidence})
            elif isinstance(change, CountImpact):
                entry = current.model_copy(update={"impact": current.impact.plus(change.impact)})
            else:  # pragma: no cover - the discriminated union has no other member
                raise PlaybookError(f"unknown change {change!r}")
        self.entries[entry.id] = entry
        self.version = delta.version


def fold(deltas: Iterable[Delta], version: int | None = None) -> PlaybookState:
    """The memory after the first ``version`` deltas (all of them when None)."""
    state = PlaybookState()
    for delta in deltas:
        if version is not None and delta.version > version:
            break
        state.apply(delta)
    if version is not None and state.version < version:
        raise PlaybookError(f"the memory has {state.version} version(s); version {version} does not exist")
    return state


def export_json(deltas: Iterable[Delta]) -> str:
    """Every delta, in order, as one JSON document (numbers stay numbers)."""
    body = {"format": EXPORT_FORMAT, "deltas": [d.model_dump(mode="json") for d in deltas]}
    return json.dumps(body, indent=1, sort_keys=True)


def import_json(text: str) -> list[Delta]:
    """The deltas of an export, validated and checked to fold cleanly (or ``PlaybookError`` saying why)."""
    try:
        body: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlaybookError(f"the memory export is not JSON: {exc}") from None
    if not isinstance(body, dict) or body.get("format") != EXPORT_FORMAT or "deltas" not in body:
        raise PlaybookError(f'a memory export is {{"format": {EXPORT_FORMAT}, "deltas": [...]}}')
    return validate_deltas(body["deltas"], "the memory export")


def validate_deltas(raw: Any, what: str) -> list[Delta]:
    """Deltas as JSON data, validated and checked to fold cleanly (or ``PlaybookError`` naming ``what``)."""
    try:
        deltas = _DELTAS.validate_python(raw)
    except ValidationError as exc:
        raise PlaybookError(f"{what} does not validate: {exc.errors()[0]['msg']} at "
                           f"{'.'.join(str(p) for p in exc.errors()[0]['loc'])}") from None
    fold(deltas)  # versions without gaps, every change applicable
    return deltas
