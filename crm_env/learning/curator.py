"""The curator: turns teacher proposals into memory changes, promotes on evidence, retires what harms.

- A proposal whose entry is new is added as a candidate; one already in the memory (the same audience, cue
  and instruction: the same id) gets the new evidence instead; a retired entry is not brought back.
- A candidate with evidence from at least ``PROMOTE_EVIDENCE`` turns becomes active.
- An active entry is retired when, over at least ``MIN_SAMPLE`` turns with it and ``MIN_SAMPLE`` turns where
  its cue matched but it was not injected, its success rate with it is below the rate without it by more
  than ``HARM_MARGIN`` and the difference is significant: a two-proportion z-test at ``HARM_Z`` or beyond
  (one-sided; strict, because the test is repeated after every episode and retiring a helpful entry on
  noise loses what it teaches).
Every change carries the reason, with its numbers. The curator only proposes changes (``Change``); the
caller appends them to the store, which checks each against the newest memory.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from crm_env.learning.entries import AddEntry, AddEvidence, Change, Entry, Impact, Lifecycle, SetStatus
from crm_env.learning.memory import PlaybookState

PROMOTE_EVIDENCE = 2
MIN_SAMPLE = 10
HARM_MARGIN = 0.10
HARM_Z = 3.0


def consider(state: PlaybookState, proposals: Sequence[tuple[Entry, str]]) -> list[Change]:
    """The changes that take a teacher's proposals into the memory (see the module docstring)."""
    changes: list[Change] = []
    evidence = {rid: len(e.evidence) for rid, e in state.entries.items()}
    status = {rid: e.status for rid, e in state.entries.items()}
    for entry, why in proposals:
        if entry.id not in status:
            changes.append(AddEntry(entry=entry, reason=f"proposed: {why}"))
            status[entry.id] = Lifecycle.CANDIDATE
            evidence[entry.id] = len(entry.evidence)
        elif status[entry.id] is not Lifecycle.RETIRED and entry.evidence:
            changes.append(AddEvidence(entry_id=entry.id, evidence=entry.evidence, reason=f"proposed again: {why}"))
            evidence[entry.id] += len(entry.evidence)
    for rid, count in evidence.items():
        if status[rid] is Lifecycle.CANDIDATE and count >= PROMOTE_EVIDENCE:
            changes.append(SetStatus(entry_id=rid, status=Lifecycle.ACTIVE,
                                     reason=f"evidence from {count} turn(s) (promotion needs {PROMOTE_EVIDENCE})"))
    return changes


def review(state: PlaybookState) -> list[Change]:
    """Retirements of active entries whose measured impact is harmful (see the module docstring)."""
    changes: list[Change] = []
    for entry in state.by_status(Lifecycle.ACTIVE):
        impact = entry.impact
        if impact.injected < MIN_SAMPLE or impact.matched_not_injected < MIN_SAMPLE:
            continue
        with_rate = impact.success_with / impact.injected
        without_rate = impact.success_without / impact.matched_not_injected
        z = _z(impact)
        if with_rate < without_rate - HARM_MARGIN and z <= -HARM_Z:
            changes.append(SetStatus(entry_id=entry.id, status=Lifecycle.RETIRED, reason=(
                f"harmful: success {impact.success_with}/{impact.injected} ({with_rate:.0%}) with it, "
                f"{impact.success_without}/{impact.matched_not_injected} ({without_rate:.0%}) without (z = {z:.2f})")))
    return changes


def _z(impact: Impact) -> float:
    """The two-proportion z statistic of success with the entry minus without it (0 when undefined)."""
    n1, n2 = impact.injected, impact.matched_not_injected
    pooled = (impact.success_with + impact.success_without) / (n1 + n2)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return 0.0 if spread == 0 else (impact.success_with / n1 - impact.success_without / n2) / spread
