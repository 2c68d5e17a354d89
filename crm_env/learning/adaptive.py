"""The ``adaptive`` lane: how closely the teacher supervises a turn, from how the student has done on turns
like it, and drift alerts when that gets worse.

A turn's *cue* is the record types and field names its request mentions (``teacher.cue_words``: what a
supervisor reads in the request, never a dataset label). Per cue the policy keeps the student's last
``WINDOW`` turn outcomes (its capability estimate) and the ``WINDOW`` before them:

- fewer than ``MIN_TURNS`` outcomes: ``coach`` (no estimate yet: guidance, no review);
- success rate below ``ESCALATE_BELOW``: ``escalate`` (the teacher takes the turn over after repeated
  failure: ``crm_env.learning.escalate``);
- success rate below ``SUPERVISE_BELOW``: ``paired`` (the teacher reviews each write);
- otherwise ``coach``;
- a cue in drift is at least ``paired`` for its next ``DRIFT_TURNS`` turns whatever its rate.

**Drift**: when a cue's last ``WINDOW`` outcomes succeed less often than the ``WINDOW`` before them by a
two-proportion z ≤ ``DRIFT_Z`` (strict, because the test is repeated after every turn), the policy
returns a drift note and supervises that cue more. Only the student's turns are outcomes: a turn the
teacher took over is not counted. The policy is rebuilt from a run's events on resume
(``replay``), so a resumed run decides as an uninterrupted one.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

WINDOW = 20
MIN_TURNS = 5
SUPERVISE_BELOW = 0.7
ESCALATE_BELOW = 0.4
DRIFT_Z = -3.0
DRIFT_TURNS = 20


@dataclass(frozen=True)
class Decision:
    lane: str  # "coach", "paired" or "escalate"
    why: str
    rate: float | None  # the cue's recent success rate (None: too few turns)
    turns: int  # outcomes it is based on


@dataclass(frozen=True)
class Drift:
    cue: tuple[str, ...]
    recent: float
    previous: float
    z: float


class AdaptivePolicy:
    """Per-cue capability estimates, lane decisions and drift alerts (see the module docstring)."""

    def __init__(self) -> None:
        self._outcomes: dict[tuple[str, ...], deque[bool]] = {}
        self._supervise: dict[tuple[str, ...], int] = {}  # cue -> turns still supervised after a drift

    def decide(self, cue: tuple[str, ...]) -> Decision:
        outcomes = list(self._outcomes.get(cue, ()))[-WINDOW:]
        rate = sum(outcomes) / len(outcomes) if outcomes else None
        seen = f"success {rate:.0%} on the last {len(outcomes)} turn(s) of this cue" if outcomes else ""
        if len(outcomes) >= MIN_TURNS and rate is not None and rate < ESCALATE_BELOW:
            return Decision("escalate", f"{seen}, below {ESCALATE_BELOW:.0%}", rate, len(outcomes))
        if self._supervise.get(cue, 0) > 0:
            return Decision("paired", f"drift on this cue: supervised for {self._supervise[cue]} more turn(s)",
                            rate, len(outcomes))
        if len(outcomes) < MIN_TURNS:
            return Decision("coach", f"{len(outcomes)} turn(s) on this cue, fewer than {MIN_TURNS}: no estimate yet",
                            rate, len(outcomes))
        if rate is not None and rate < SUPERVISE_BELOW:
            return Decision("paired", f"{seen}, below {SUPERVISE_BELOW:.0%}", rate, len(outcomes))
        return Decision("coach", seen, rate, len(outcomes))

    def record(self, cue: tuple[str, ...], success: bool) -> Drift | None:
        """Count a turn's outcome; a drift note when the cue's success has dropped (module docstring)."""
        if self._supervise.get(cue, 0) > 0:
            self._supervise[cue] -= 1
        outcomes = self._outcomes.setdefault(cue, deque(maxlen=2 * WINDOW))
        outcomes.append(bool(success))
        if len(outcomes) < 2 * WINDOW:
            return None
        previous, recent = list(outcomes)[:WINDOW], list(outcomes)[WINDOW:]
        z = _z(sum(recent), sum(previous), WINDOW)
        if z > DRIFT_Z or self._supervise.get(cue, 0) > 0:
            return None
        self._supervise[cue] = DRIFT_TURNS
        return Drift(cue, sum(recent) / WINDOW, sum(previous) / WINDOW, round(z, 3))

    def replay(self, events: list[Any]) -> None:
        """Rebuild the estimates from a run's events (each lane decision, then its turn's verdict when the
        student played it)."""
        from crm_env.learning.events import LaneDecision, TurnVerdict

        cues: dict[tuple[str, int | None], tuple[str, ...]] = {}
        for event in events:
            if isinstance(event, LaneDecision):
                cues[(event.episode_id, event.turn_id)] = tuple(event.cue)
            elif isinstance(event, TurnVerdict) and (event.episode_id, event.turn_id) in cues \
                    and event.actor == "student":
                self.record(cues[(event.episode_id, event.turn_id)], event.learned)


def _z(recent: int, previous: int, n: int) -> float:
    """Two-proportion z of recent vs previous successes out of ``n`` each (0 when both are all or nothing)."""
    pooled = (recent + previous) / (2 * n)
    spread = math.sqrt(pooled * (1 - pooled) * 2 / n)
    return 0.0 if spread == 0 else (recent - previous) / n / spread
