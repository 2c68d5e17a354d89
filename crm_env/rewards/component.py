"""The result of one reward component: a score, whether it passed, and why."""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "n/a"
    UNDECIDED = "undecided"  # the deterministic check cannot tell; the judge may decide
    ERROR = "error"  # the judge failed (infrastructure), the component has no score
    DIAGNOSTIC = "diagnostic"  # scored, but not part of turn success


@dataclass(frozen=True, slots=True)
class Component:
    """One component's verdict. ``score`` is None when the component has no score (n/a, undecided, error)."""

    name: str
    status: Status
    score: float | None
    rationale: str
    details: dict[str, Any] = field(default_factory=dict)
    # to_dict()'s result, pickled, for components shared between turns (see ``shared``); never copied
    # by dataclasses.replace, so a replaced component computes its own
    _snapshot: bytes | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def passed(self) -> bool:
        return self.status is Status.PASS

    def to_dict(self) -> dict[str, Any]:
        snapshot = self._snapshot
        if snapshot is not None:
            return _loads(snapshot)  # a fresh deep copy in one call
        out = {"status": _STATUS_TEXT[self.status], "score": self.score, "rationale": self.rationale}
        if self.details:
            out["details"] = _fresh(self.details)
        return out


_STATUS_TEXT = {status: status.value for status in Status}
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _fresh(value: Any) -> Any:
    # info must never share mutable objects between steps (gymnasium's checker verifies it)
    if isinstance(value, dict):
        return {k: v if type(v) in _SCALARS else _fresh(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [v if type(v) in _SCALARS else _fresh(v) for v in value]
    return value


_loads = pickle.loads


def shared(name: str, status: Status, score: float | None, rationale: str, details: dict[str, Any]) -> Component:
    """A component with details meant to be shared between turns: its ``to_dict()`` is computed once
    and handed out as fresh copies. Nobody may mutate ``details`` afterwards (components are immutable)."""
    component = Component(name, status, score, rationale, details)
    snapshot = pickle.dumps(component.to_dict(), protocol=pickle.HIGHEST_PROTOCOL)
    object.__setattr__(component, "_snapshot", snapshot)
    return component


_PLAIN: dict[tuple[str, Status, float | None, str], Component] = {}  # detail-free verdicts repeat: share them (immutable)
_PLAIN_MAX = 4096


def plain(name: str, status: Status, score: float | None, rationale: str) -> Component:
    """A component without details; equal ones are shared (components are immutable)."""
    key = (name, status, score, rationale)
    component = _PLAIN.get(key)
    if component is None:
        if len(_PLAIN) >= _PLAIN_MAX:
            _PLAIN.clear()
        component = _PLAIN[key] = Component(name, status, score, rationale)
    return component


def passed(name: str, rationale: str, **details: Any) -> Component:
    if not details:
        return plain(name, Status.PASS, 1.0, rationale)
    return Component(name, Status.PASS, 1.0, rationale, details)


def failed(name: str, rationale: str, score: float = 0.0, **details: Any) -> Component:
    return Component(name, Status.FAIL, score, rationale, details)


def not_applicable(name: str, rationale: str) -> Component:
    return plain(name, Status.NOT_APPLICABLE, None, rationale)


def undecided(name: str, rationale: str, **details: Any) -> Component:
    return Component(name, Status.UNDECIDED, None, rationale, details)
