"""The result of one reward component: a score, whether it passed, and why."""

from __future__ import annotations

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

    @property
    def passed(self) -> bool:
        return self.status is Status.PASS

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "score": self.score,
            "rationale": self.rationale,
            **({"details": _fresh(self.details)} if self.details else {}),
        }


def _fresh(value: Any) -> Any:
    # info must never share mutable objects between steps (gymnasium's checker verifies it)
    if isinstance(value, dict):
        return {k: _fresh(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_fresh(v) for v in value]
    return value


def passed(name: str, rationale: str, **details: Any) -> Component:
    return Component(name, Status.PASS, 1.0, rationale, details)


def failed(name: str, rationale: str, score: float = 0.0, **details: Any) -> Component:
    return Component(name, Status.FAIL, score, rationale, details)


def not_applicable(name: str, rationale: str) -> Component:
    return Component(name, Status.NOT_APPLICABLE, None, rationale)


def undecided(name: str, rationale: str, **details: Any) -> Component:
    return Component(name, Status.UNDECIDED, None, rationale, details)
