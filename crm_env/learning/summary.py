"""A learning run's ``summary.json`` and console headline, from its events and final memory."""

from __future__ import annotations

from typing import Any

from crm_env.learning.entries import Lifecycle
from crm_env.learning.events import (
    DriftNote,
    EpisodeEnd,
    GuidanceInjected,
    JudgeSamples,
    ProposalSkipped,
    Takeover,
    TeacherReview,
    TurnVerdict,
)
from crm_env.learning.memory import PlaybookState

WINDOW = 50  # episodes per window in the summary


def summarize(events: list[Any], state: PlaybookState, config: Any) -> dict[str, Any]:
    """Turn and strict success over the run and per window of ``WINDOW`` episodes, interventions per lane,
    the judge panel, cost by role, memory by lifecycle (``config``: the run's ``LearnConfig``)."""
    ends = [e for e in events if isinstance(e, EpisodeEnd)]
    guided = sum(isinstance(e, GuidanceInjected) and bool(e.entry_ids) for e in events)

    def block(group: list[EpisodeEnd]) -> dict[str, Any]:
        turns = sum(e.turns for e in group)
        return {"episodes": len(group), "turns": turns,
                "turn_success": sum(e.turn_successes for e in group) / turns if turns else None,
                "strict_success": sum(e.strict_success for e in group) / len(group) if group else None}

    windows = [{"first_episode": start, **block(ends[start:start + WINDOW])} for start in range(0, len(ends), WINDOW)]
    turns = sum(e.turns for e in ends)
    return {
        "simulated": config.simulated, "student": config.student, "teacher": config.teacher, "lane": config.lane,
        "seed": config.seed, "episodes_planned": config.episodes, **block(ends),
        "turns_with_guidance": guided, "guided_share": guided / turns if turns else None,
        "student_turn_success": student_success(events),
        "interventions": interventions(events),
        "drift_notes": sum(isinstance(e, DriftNote) for e in events),
        "judges": judge_counts(events) if config.judge_model else None,
        "cost_usd": {role: round(sum(e.usage[role].cost_usd for e in ends if role in e.usage), 6)
                     for role in sorted({r for e in ends for r in e.usage})},
        "window": WINDOW, "windows": windows,
        "memory": {"version": state.version, **{s.value: len(state.by_status(s)) for s in Lifecycle}},
    }


def student_success(events: list[Any]) -> float | None:
    """Turn success over the turns the student played (the escalate lane hands some to the teacher)."""
    played = [e.success for e in events if isinstance(e, TurnVerdict) and e.actor == "student"]
    return sum(played) / len(played) if played else None


def judge_counts(events: list[Any]) -> dict[str, int]:
    """Turns the judge panel graded, its grades, arbitrations, verdicts that differ from the env's, and
    judge replies skipped as unusable."""
    panels = [e for e in events if isinstance(e, JudgeSamples)]
    return {"turns_judged": len(panels), "samples": sum(len(e.samples) for e in panels),
            "arbitrated": sum(e.arbiter is not None for e in panels),
            "differ_from_env": sum(isinstance(e, TurnVerdict) and e.judged is not None and e.judged != e.success
                                   for e in events),
            "skipped": sum(isinstance(e, ProposalSkipped) and e.teacher == "judge" for e in events)}


def interventions(events: list[Any]) -> dict[str, dict[str, int]]:
    """Per lane a turn was played in: its turns, those with guidance injected, the writes the teacher
    reviewed and stopped (paired), the turns it took over (escalate)."""
    lane_of: dict[tuple[str, int | None], str] = {}
    out: dict[str, dict[str, int]] = {}
    for event in events:
        key = (event.episode_id, event.turn_id)
        if isinstance(event, GuidanceInjected):
            lane_of[key] = event.lane
            counts = out.setdefault(event.lane, dict.fromkeys(
                ("turns", "guided", "writes_reviewed", "writes_stopped", "taken_over"), 0))
            counts["turns"] += 1
            counts["guided"] += bool(event.entry_ids)
        elif isinstance(event, TeacherReview) and key in lane_of:
            out[lane_of[key]]["writes_reviewed"] += 1
            out[lane_of[key]]["writes_stopped"] += not event.approved
        elif isinstance(event, Takeover) and key in lane_of:
            out[lane_of[key]]["taken_over"] += 1
    return dict(sorted(out.items()))


def headline(summary: dict[str, Any]) -> str:
    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{100 * value:5.1f} %"

    lines = [("SIMULATED student: " if summary["simulated"] else "") +
             f"{summary['episodes']} episode(s), {summary['turns']} turn(s); turn success "
             f"{pct(summary['turn_success'])}, strict {pct(summary['strict_success'])}"]
    lines += [f"  episodes {w['first_episode']:>5}-{w['first_episode'] + w['episodes'] - 1:<5} turn "
              f"{pct(w['turn_success'])}  strict {pct(w['strict_success'])}" for w in summary["windows"]]
    memory = summary["memory"]
    lines.append(f"memory v{memory['version']}: {memory['active']} active, {memory['candidate']} candidate, "
                 f"{memory['retired']} retired; guidance on {summary['turns_with_guidance']} turn(s)")
    lines += [f"lane {lane}: {c['turns']} turn(s), {c['guided']} guided, {c['writes_stopped']} of "
              f"{c['writes_reviewed']} reviewed write(s) stopped, {c['taken_over']} taken over"
              for lane, c in summary["interventions"].items()]
    if any(c["taken_over"] for c in summary["interventions"].values()):
        lines.append(f"student turn success (turns it played) {pct(summary['student_turn_success'])}")
    return "\n".join(lines)
