"""``crm-env learn explain``: what a run's memory says, where each entry came from, when it was used, and
what it did.

Everything is read from the run directory: ``memory.json`` (the memory's history: every delta with its
reason) and ``events.jsonl`` (which teacher proposed an entry and why, and on which turns it was injected or
withheld). An entry is named by its id or a unique prefix of it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crm_env.errors import ConfigError
from crm_env.learning.entries import AddEntry, Entry, Impact, Lifecycle, SetStatus
from crm_env.learning.events import GuidanceInjected, TeacherProposal, read_events
from crm_env.learning.memory import PlaybookState, fold, import_json
from crm_env.learning.run import EVENTS_FILE, MEMORY_FILE, RUN_FILE

SHOWN_EVIDENCE = 5


def _load(run_dir: Path) -> tuple[list[Any], list[Any], dict[str, Any]]:
    for name in (RUN_FILE, MEMORY_FILE, EVENTS_FILE):
        if not (run_dir / name).is_file():
            raise ConfigError(f"{run_dir} is not a finished learning run: {name} is missing "
                              "(run `crm-env learn run --output DIR`, or --resume it to write memory.json)")
    deltas = import_json((run_dir / MEMORY_FILE).read_text(encoding="utf-8"))
    events, _ = read_events(run_dir / EVENTS_FILE)
    return deltas, events, json.loads((run_dir / RUN_FILE).read_text(encoding="utf-8"))


def _rate(successes: int, turns: int) -> str:
    return f"{successes}/{turns} ({successes / turns:.0%})" if turns else "0/0"


def _find(state: PlaybookState, entry_id: str) -> Entry:
    found = [e for rid, e in state.entries.items() if rid.startswith(entry_id)]
    if len(found) != 1:
        what = "no" if not found else f"{len(found)}"
        raise ConfigError(f"{what} entr{'y' if not found else 'ies'} of this run's memory match {entry_id!r}; "
                          "run `crm-env learn explain RUN_DIR` to list them")
    return found[0]


def explain(run_dir: Path, entry_id: str | None = None) -> str:
    """The text ``crm-env learn explain`` prints: the memory's entries, or one entry in full."""
    deltas, events, record = _load(run_dir)
    state = fold(deltas)
    header = ("SIMULATED student: these figures test the machinery, not a model.\n" if record.get("simulated") else "")
    if entry_id is None:
        return header + _listing(state)
    return header + _entry(_find(state, entry_id), deltas, events)


def _listing(state: PlaybookState) -> str:
    order = {Lifecycle.ACTIVE: 0, Lifecycle.CANDIDATE: 1, Lifecycle.RETIRED: 2}
    entries = sorted(state.entries.values(), key=lambda e: (order[e.status], -e.impact.injected, e.id))
    lines = [f"memory version {state.version}: {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}",
             f"{'id':<19} {'status':<9} {'with':>14} {'without':>14}  instruction"]
    for e in entries:
        lines.append(f"{e.id:<19} {e.status.value:<9} {_rate(e.impact.success_with, e.impact.injected):>14} "
                     f"{_rate(e.impact.success_without, e.impact.matched_not_injected):>14}  {e.instruction[:70]}")
    return "\n".join(lines)


def _entry(entry: Entry, deltas: list[Any], events: list[Any]) -> str:
    cue = entry.cue
    lines = [f"entry {entry.id} ({entry.status.value}, for the {entry.audience})",
             f"  says:      {entry.instruction}",
             "  applies:   when the request mentions " + ", ".join(repr(k) for k in cue.keywords)
             + (f" or matches /{cue.regex}/" if cue.regex else "")
             + (f"; about {', '.join(cue.entities)}" if cue.entities else ""),
             f"  expected:  {entry.expected_effect}",
             f"  rationale: {entry.rationale}"]
    proposal = next((e for e in events if isinstance(e, TeacherProposal) and e.entry.id == entry.id), None)
    if proposal is not None:
        lines.append(f"  origin:    proposed by the {proposal.teacher} teacher after episode {proposal.episode_id}: "
                     f"{proposal.why}")
    else:
        lines.append("  origin:    not proposed in this run (imported, or from an earlier run on this memory)")
    lines.append("  history:")
    for delta in deltas:
        change = delta.change
        if isinstance(change, AddEntry) and change.entry.id == entry.id:
            lines.append(f"    v{delta.version:<6} added as {change.entry.status.value}: {change.reason}")
        elif isinstance(change, SetStatus) and change.entry_id == entry.id:
            lines.append(f"    v{delta.version:<6} {change.status.value}: {change.reason}")
    lines.append(f"  evidence:  {len(entry.evidence)} turn(s)")
    for ev in entry.evidence[:SHOWN_EVIDENCE]:
        lines.append(f"    {ev.episode_id} turn {ev.turn_id}: {ev.rationale[:160]}")
    if len(entry.evidence) > SHOWN_EVIDENCE:
        lines.append(f"    ... {len(entry.evidence) - SHOWN_EVIDENCE} more")
    given = [e for e in events if isinstance(e, GuidanceInjected) and entry.id in e.entry_ids]
    withheld = sum(isinstance(e, GuidanceInjected) and entry.id in e.withheld for e in events)
    over = sum(isinstance(e, GuidanceInjected) and entry.id in e.matched_not_injected for e in events)
    span = f" (episodes {given[0].episode_id} to {given[-1].episode_id})" if given else ""
    lines.append(f"  injected:  on {len(given)} turn(s){span}; held out on {withheld}; over the budget on {over}")
    lines.append("  impact:    " + _impact(entry.impact))
    return "\n".join(lines)


def _impact(impact: Impact) -> str:
    text = (f"success with it {_rate(impact.success_with, impact.injected)}, "
            f"without it {_rate(impact.success_without, impact.matched_not_injected)}")
    if impact.injected and impact.matched_not_injected:
        diff = impact.success_with / impact.injected - impact.success_without / impact.matched_not_injected
        text += f": {100 * diff:+.1f} points"
    return text
