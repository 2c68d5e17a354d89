"""The uplift protocol's figures, from its phases' raw files alone (``crm_env.learning.protocol``).

One definition each:

- **strict success**: episodes whose every turn succeeded / episodes; **turn success**: turns / turns.
  A treatment's rate over R orderings averages each conversation's counts over the orderings.
- **uplift**: treated − baseline rate on the conversations both completed (ratio of summed counts, so a
  conversation weighs by its trials, or turns); 95 % CI by a paired bootstrap over conversations
  (``metrics.BOOTSTRAP_SAMPLES`` resamples, the same conversations for both sides); **p-value** by a paired
  randomisation test: each conversation's two sides are swapped at random (``PERMUTATIONS`` times) and p is
  the share of swaps whose |uplift| reaches the observed one (two-sided, with the observed counted once).
- **teacher always on** (the upper reference): supervised − baseline the same way; the student with the
  teacher reviewing every write, no memory.
- **within noise** (the placebo): the CI of placebo − baseline contains 0.
- **flip rate**: conversations whose trials disagree (some strict successes, not all) / conversations with
  at least two trials.
- **learning curve**: each ordering's turn success per window of its learning run, scored before the loop
  learned from the episode (prequential); the band is the orderings' minimum and maximum.
- **transfer** (with held-out intents): the frozen turn-success uplift on the held-out turns of those
  intents, and on the other turns.
- **forgetting**: per window of each learning run, the probe's turn success with the memory of that
  moment, and the share of probe turns that got worse (succeeded after the window before, fail now) or
  better.
- **entry impact** (ablation): frozen − ablated for each ablated entry, paired the same way (positive: the
  entry helps).
- **memory**: each ordering's final entries by lifecycle, and churn: entries added and entries retired; the
  playbook itself (active entries with cue, evidence and impact counters: their provenance).
- **teacher interventions over time**: per learning window, teacher proposals and stopped writes (paired
  lane) per episode, and the USD spent (the cost curve).
- **cost**: USD by phase and role, in total and per strict success of the held-out phases.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from crm_env.datasets.intents import TaskIntent
from crm_env.errors import ConfigError
from crm_env.eval import metrics
from crm_env.eval.config import RESULTS_FILE, write_json_atomic, write_text_atomic
from crm_env.eval.results import ResultLine, load_results

PERMUTATIONS = 10_000
SEED = 0
SUMMARY_FILE, REPORT_FILE = "summary.json", "report.md"
Counts = dict[str, tuple[float, float, float, float]]  # conversation -> (strict ok, episodes, turns ok, turns)


def phase_lines(run_dir: Path) -> list[ResultLine]:
    """A phase's result lines (the last one per episode; infrastructure failures included).

    Raises:
        ConfigError: The phase has no results (it has not run).
    """
    path = run_dir / RESULTS_FILE
    if not path.is_file():
        raise ConfigError(f"{run_dir} holds no {RESULTS_FILE}: run or resume the protocol first")
    return list(load_results(path).lines.values())


def phase_counts(lines: list[ResultLine], intents: set[str] | None = None) -> Counts:
    """Per conversation of a phase: strict successes, episodes, turn successes, turns over its completed
    episodes (only the turns of ``intents`` when given, and only conversations that have one)."""
    groups = metrics.by_conversation(line for line in lines if line.status == "completed")
    strict, episodes = metrics.episode_counts(groups)
    turns_ok, turns = metrics.turn_counts(groups, metrics.turn_success,
                                          (lambda t: t.intent in intents) if intents is not None else lambda t: True)
    return {cid: (s, e, t, n) for cid, s, e, t, n in zip(groups, strict, episodes, turns_ok, turns, strict=True)
            if n}


def turn_outcomes(lines: list[ResultLine]) -> dict[tuple[str, int, int], bool]:
    """Every turn of a phase's completed episodes: (conversation, trial, turn) -> success."""
    return {(line.conversation_id, line.trial, t.turn_id): t.success
            for line in lines if line.status == "completed" for t in line.turns}


def forgetting(windows: list[dict[tuple[str, int, int], bool]]) -> list[dict[str, Any]]:
    """Per window (its probe's ``turn_outcomes``), the probe's turn success and, from the window before, the
    share of probe turns that got worse (succeeded before, fail now) and better."""
    out, previous = [], None
    for w, now in enumerate(windows):
        row: dict[str, Any] = {"window": w, "turn_success": round(sum(now.values()) / len(now), 6) if now else None,
                               "got_worse": None, "got_better": None}
        if previous is not None:
            shared = set(now) & set(previous)
            if shared:
                row["got_worse"] = round(sum(previous[k] and not now[k] for k in shared) / len(shared), 6)
                row["got_better"] = round(sum(now[k] and not previous[k] for k in shared) / len(shared), 6)
        out.append(row)
        previous = now
    return out


def averaged(phases: list[Counts]) -> Counts:
    """Each conversation's counts averaged over phases (R orderings), on the conversations all completed."""
    shared = set.intersection(*(set(p) for p in phases))
    return {cid: tuple(float(np.mean([p[cid][i] for p in phases])) for i in range(4))  # type: ignore[misc]
            for cid in sorted(shared)}


def paired_uplift(baseline: Counts, treated: Counts, which: str = "strict") -> dict[str, Any]:
    """Treated − baseline with its paired bootstrap CI and randomisation p-value (module docstring)."""
    shared = sorted(set(baseline) & set(treated))
    if not shared:
        return {"baseline": None, "treated": None, "uplift": None, "ci_low": None, "ci_high": None,
                "p_value": None, "conversations": 0}
    col = 0 if which == "strict" else 2
    na, da = (np.asarray([baseline[c][i] for c in shared], dtype=float) for i in (col, col + 1))
    nb, db = (np.asarray([treated[c][i] for c in shared], dtype=float) for i in (col, col + 1))
    a, b = na.sum() / da.sum(), nb.sum() / db.sum()
    rng = np.random.default_rng(SEED)
    m = len(shared)
    idx = rng.integers(0, m, size=(metrics.BOOTSTRAP_SAMPLES, m))
    deltas = nb[idx].sum(1) / db[idx].sum(1) - na[idx].sum(1) / da[idx].sum(1)
    alpha = (1 - metrics.CI_LEVEL) / 2
    low, high = np.quantile(deltas, [alpha, 1 - alpha])
    swap = rng.random((PERMUTATIONS, m)) < 0.5
    perm = (np.where(swap, na, nb).sum(1) / np.where(swap, da, db).sum(1)
            - np.where(swap, nb, na).sum(1) / np.where(swap, db, da).sum(1))
    observed = b - a
    p = (1 + int(np.sum(np.abs(perm) >= abs(observed) - 1e-12))) / (PERMUTATIONS + 1)
    return {"baseline": round(float(a), 6), "treated": round(float(b), 6), "uplift": round(float(observed), 6),
            "ci_low": round(float(low), 6), "ci_high": round(float(high), 6), "p_value": round(p, 6),
            "conversations": m}


def flip_rate(counts: Counts) -> float | None:
    """Conversations whose trials disagree / conversations with at least two trials."""
    several = [(s, e) for s, e, _, _ in counts.values() if e >= 2]
    return round(sum(0 < s < e for s, e in several) / len(several), 6) if several else None


def _learning(run_dir: Path) -> dict[str, Any]:
    """A learning run's curve per window (turn and strict success, teacher proposals and interventions per
    episode, USD), its final memory and churn: from its events and memory export."""
    from crm_env.learning.entries import Lifecycle
    from crm_env.learning.events import EpisodeEnd, TeacherProposal, TeacherReview, read_events
    from crm_env.learning.memory import fold
    from crm_env.learning.run import EVENTS_FILE, WINDOW, window_versions

    events = read_events(run_dir / EVENTS_FILE)[0]
    ends = [e for e in events if isinstance(e, EpisodeEnd)]
    proposals: dict[str, int] = {}
    stopped: dict[str, int] = {}
    for e in events:
        if isinstance(e, TeacherProposal):
            proposals[e.episode_id] = proposals.get(e.episode_id, 0) + 1
        elif isinstance(e, TeacherReview) and not e.approved:
            stopped[e.episode_id] = stopped.get(e.episode_id, 0) + 1

    def window(group: list[Any], first: int) -> dict[str, Any]:
        turns = sum(e.turns for e in group)
        return {"first_episode": first, "episodes": len(group),
                "turn_success": round(sum(e.turn_successes for e in group) / turns, 6) if turns else None,
                "strict_success": round(sum(e.strict_success for e in group) / len(group), 6),
                "teacher_proposals_per_episode": round(sum(proposals.get(e.episode_id, 0) for e in group)
                                                       / len(group), 6),
                "interventions_per_episode": round(sum(stopped.get(e.episode_id, 0) for e in group) / len(group), 6),
                "cost_usd": round(sum(u.cost_usd for e in group for u in e.usage.values()), 6)}

    curve = [window(ends[i:i + WINDOW], i) for i in range(0, len(ends), WINDOW)]
    deltas = _deltas(run_dir)
    state = fold(deltas)
    changes = [d.change for d in deltas]
    ops = [c.op for c in changes]
    retired = sum(1 for c in changes if c.op == "set_status" and c.status is Lifecycle.RETIRED)
    return {
        "state": state,  # the final memory (kept out of summary.json)
        "window_versions": window_versions(ends),
        "episodes": len(ends), "curve": curve,
        "memory": {"version": state.version, **{s.value: len(state.by_status(s)) for s in Lifecycle}},
        "churn": {"added": ops.count("add"), "retired": retired},
        "playbook": [{"entry_id": e.id, "status": e.status.value, "instruction": e.instruction,
                      "cue": list(e.cue.keywords) or [e.cue.regex], "evidence": len(e.evidence),
                      "first_evidence": e.evidence[0].episode_id if e.evidence else None,
                      "status_reason": e.status_reason, "injected": e.impact.injected,
                      "success_with": e.impact.success_with}
                     for e in sorted(state.by_status(Lifecycle.ACTIVE), key=lambda e: (-e.impact.injected, e.id))],
    }


def _deltas(run_dir: Path) -> list[Any]:
    from crm_env.learning.memory import import_json

    return import_json((run_dir / "memory.json").read_text(encoding="utf-8"))


def _band(curves: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per window over the orderings: turn success (mean, low, high), teacher proposals and interventions
    per episode (mean) and USD (total)."""
    out = []
    for i in range(min(len(c) for c in curves)):
        rows = [c[i] for c in curves]
        values = [r["turn_success"] for r in rows if r["turn_success"] is not None]
        out.append({"first_episode": rows[0]["first_episode"],
                    "mean": round(float(np.mean(values)), 6) if values else None,
                    "low": min(values) if values else None, "high": max(values) if values else None,
                    "teacher_proposals_per_episode": round(float(np.mean([r["teacher_proposals_per_episode"]
                                                                          for r in rows])), 6),
                    "interventions_per_episode": round(float(np.mean([r["interventions_per_episode"] for r in rows])), 6),
                    "cost_usd": round(sum(r["cost_usd"] for r in rows), 6)})
    return out


def summarize_protocol(out: Path) -> dict[str, Any]:
    """Every figure of the protocol (module docstring) from the phases' files under ``out``.

    Raises:
        ConfigError: No protocol there, or a phase that has not run.
    """
    from crm_env.learning.guided import ablated
    from crm_env.learning.protocol import BASELINE, PROTOCOL_FILE, SUPERVISED, ProtocolRecord

    path = out / PROTOCOL_FILE
    if not path.is_file():
        raise ConfigError(f"{out} holds no {PROTOCOL_FILE}: not an uplift protocol run")
    record = ProtocolRecord.model_validate_json(path.read_text(encoding="utf-8"))
    config = record.config
    orderings = range(config.orderings)
    lines: dict[str, list[ResultLine]] = {}  # each phase's results, read once

    def counts(phase: str, intents: set[str] | None = None) -> Counts:
        if phase not in lines:
            lines[phase] = phase_lines(out / phase)
        return phase_counts(lines[phase], intents)

    baseline, supervised = counts(BASELINE), counts(SUPERVISED)
    frozen = [counts(f"frozen-{r}") for r in orderings]
    placebos = [counts(f"placebo-{r}") for r in orderings]
    learning = [_learning(out / f"learning-{r}") for r in orderings]
    block = {}
    for which in ("strict", "turn"):
        placebo = paired_uplift(baseline, averaged(placebos), which)
        block[which] = {
            "frozen": paired_uplift(baseline, averaged(frozen), which),
            "supervised": paired_uplift(baseline, supervised, which),
            "placebo": {**placebo, "within_noise": None if placebo["uplift"] is None else
                        bool(placebo["ci_low"] <= 0 <= placebo["ci_high"])},
            "frozen_by_ordering": [paired_uplift(baseline, f, which) for f in frozen],
        }
    entries = []
    for r in orderings:
        for entry in ablated(learning[r]["state"], config.ablate):
            ablation = counts(f"ablate-{r}-{entry.id}")
            entries.append({"ordering": r, "entry_id": entry.id, "instruction": entry.instruction,
                            "cue": list(entry.cue.keywords) or [entry.cue.regex],
                            "injected_while_learning": entry.impact.injected,
                            "strict": paired_uplift(ablation, frozen[r], "strict"),
                            "turn": paired_uplift(ablation, frozen[r], "turn")})
    transfer = None
    if config.hold_out_intents:
        unseen = {i.value for i in config.hold_out_intents}
        seen = {i.value for i in TaskIntent} - unseen
        transfer = {"intents": sorted(unseen), **{
            name: paired_uplift(counts(BASELINE, group), averaged([counts(f"frozen-{r}", group) for r in orderings]),
                                "turn")
            for name, group in (("held_out_intent_turns", unseen), ("other_turns", seen))}}
    phases = [BASELINE, SUPERVISED, *(f"frozen-{r}" for r in orderings), *(f"placebo-{r}" for r in orderings),
              *(f"ablate-{e['ordering']}-{e['entry_id']}" for e in entries)]
    costs = {phase: {role: u["cost_usd"] for role, u in metrics.usage_by_role(lines[phase]).items()}
             for phase in phases}
    pass_k = {phase: metrics.pass_k_table(metrics.by_conversation(l for l in lines[phase] if l.status == "completed"),
                                          config.trials, config.seed) for phase in phases}
    frozen_cost = sum(sum(costs[f"frozen-{r}"].values()) for r in orderings)
    frozen_strict = sum(s for f in frozen for s, _, _, _ in f.values())
    return {
        "simulated": record.simulated,
        "protocol": config.model_dump(mode="json"),
        "splits_read": record.splits_read,
        "held_out_conversations": len(baseline),
        "uplift": block,
        "pass_hat_k": pass_k,
        "flip_rate": {phase: flip_rate(counts(phase)) for phase in phases},
        "entry_impact": entries,
        "transfer": transfer,
        "forgetting": [forgetting([turn_outcomes(phase_lines(out / f"probe-{r}-{w}"))
                                   for w in range(len(learning[r]["window_versions"]))])
                       if config.probe else [] for r in orderings],
        "learning": [{k: v for k, v in run.items() if k not in ("state", "window_versions")} for run in learning],
        "learning_curve_band": _band([run["curve"] for run in learning]),
        "cost_usd": {"by_phase": costs, "total": round(sum(sum(c.values()) for c in costs.values()), 6),
                     "frozen_per_strict_success": round(frozen_cost / frozen_strict, 6) if frozen_strict else None},
    }


def write_outputs(out: Path, summary: dict[str, Any]) -> None:
    """``summary.json``, then ``report.md`` and its plots (``crm_env.learning.uplift_report``)."""
    from crm_env.learning.uplift_report import plots, to_markdown

    write_json_atomic(out / SUMMARY_FILE, summary)
    write_text_atomic(out / REPORT_FILE, to_markdown(summary, plots(out, summary)))
