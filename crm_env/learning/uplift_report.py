"""The uplift protocol's ``report.md``, its plots (PNG, matplotlib's Agg backend) and its console headline,
from ``summary.json`` alone (``crm_env.learning.uplift``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

PLAYBOOK_ROWS = 15  # entries shown per ordering (summary.json holds them all)
PLOTS = ("uplift.png", "learning_curve.png", "cost_curve.png")  # the report's images, in the order it shows them


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f} %"


def _pts(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:+.1f} pts"


def _line(label: str, u: dict[str, Any]) -> str:
    if u["uplift"] is None:
        return f"{label}: n/a (no shared conversations)"
    return (f"{label}: {_pct(u['baseline'])} -> {_pct(u['treated'])}, {_pts(u['uplift'])} "
            f"[95 % CI {_pts(u['ci_low'])} … {_pts(u['ci_high'])}], p = {u['p_value']:.4f}")


def headline(summary: dict[str, Any]) -> str:
    strict = summary["uplift"]["strict"]
    p = summary["protocol"]
    lines = [("SIMULATED student and teacher: machinery test, no uplift claim. " if summary["simulated"] else "")
             + f"{summary['held_out_conversations']} held-out conversation(s) × {p['trials']} trial(s); "
             f"{p['orderings']} ordering(s) of {p['episodes']} learning episode(s) on train",
             _line("strict success, frozen memory vs baseline", strict["frozen"]),
             _line("strict success, placebo memory vs baseline", strict["placebo"])
             + ("  (within noise)" if strict["placebo"]["within_noise"] else "  (NOT within noise)"),
             _line("turn success, frozen memory vs baseline", summary["uplift"]["turn"]["frozen"]),
             _line("turn success, teacher always on vs baseline", summary["uplift"]["turn"]["supervised"])]
    return "\n".join(lines)


def to_markdown(summary: dict[str, Any], images: list[str]) -> str:
    """``report.md``: the headline table, per-ordering uplift, the learning curve, memory and cost."""
    p = summary["protocol"]
    out = []
    if summary["simulated"]:
        out.append("**SIMULATED run** (scripted student, rule teacher): it tests the protocol's machinery; its "
                   "figures are the scripted student's response to guidance and support no claim about a model.")
        out.append("")
    out += ["# Uplift protocol", "",
            (f"Held out: {summary['held_out_conversations']} conversation(s) of `{summary['splits_read'][1]}`, "
             f"{p['trials']} trial(s) each, the same episode seeds in every phase. Learning: {p['orderings']} "
             f"ordering(s) × {p['episodes']} episode(s) of `{summary['splits_read'][0]}`, each from an empty "
             "memory."),
            "", "## Headline (paired on conversations; 95 % bootstrap CIs; randomisation p-values)", "",
            "| metric | arm | baseline | arm | uplift | 95 % CI | p |", "|---|---|---|---|---|---|---|"]
    for which, label in (("strict", "strict success"), ("turn", "turn success")):
        block = summary["uplift"][which]
        for arm, u in (("frozen memory", block["frozen"]), ("placebo memory", block["placebo"]),
                       ("teacher always on (upper reference)", block["supervised"]),
                       *((f"frozen, ordering {r}", u) for r, u in enumerate(block["frozen_by_ordering"]))):
            if u["uplift"] is None:
                continue
            out.append(f"| {label} | {arm} | {_pct(u['baseline'])} | {_pct(u['treated'])} | {_pts(u['uplift'])} | "
                       f"{_pts(u['ci_low'])} … {_pts(u['ci_high'])} | {u['p_value']:.4f} |")
    placebo = summary["uplift"]["strict"]["placebo"]
    out += ["", f"Placebo within noise of the baseline: {'yes' if placebo['within_noise'] else 'NO'}.", "",
            "## Reliability", "", "| phase | pass^k | flip rate |", "|---|---|---|"]
    for phase, rows in summary["pass_hat_k"].items():
        ks = ", ".join(f"k={r['k']}: {_pct(r['value'])}" for r in rows)
        out.append(f"| {phase} | {ks} | {_pct(summary['flip_rate'][phase])} |")
    out += ["", "## Learning curve (turn success per window, scored before learning from each episode)", "",
            *(f"![{name}]({name})" for name in images if name != "cost_curve.png"), "",
            "| first episode | mean | low | high | teacher proposals / episode | stopped writes / episode | USD |",
            "|---|---|---|---|---|---|---|"]
    out += [f"| {w['first_episode']} | {_pct(w['mean'])} | {_pct(w['low'])} | {_pct(w['high'])} | "
            f"{w['teacher_proposals_per_episode']:.2f} | {w['interventions_per_episode']:.2f} | {w['cost_usd']:.4f} |"
            for w in summary["learning_curve_band"]]
    out += ["", "## Entry impact by ablation (frozen − frozen without the entry, strict success)", "",
            "| ordering | entry | instruction | injected while learning | impact | 95 % CI | p |",
            "|---|---|---|---|---|---|---|"]
    for e in summary["entry_impact"]:
        u = e["strict"]
        out.append(f"| {e['ordering']} | `{e['entry_id']}` | {e['instruction'][:80]} | {e['injected_while_learning']} | "
                   f"{_pts(u['uplift'])} | {_pts(u['ci_low'])} … {_pts(u['ci_high'])} | "
                   f"{'n/a' if u['p_value'] is None else format(u['p_value'], '.4f')} |")
    transfer = summary["transfer"]
    if transfer is not None:
        out += ["", f"## Transfer (intents never learned from: {', '.join(transfer['intents'])})", "",
                "| turns | baseline | frozen | uplift | 95 % CI | p |", "|---|---|---|---|---|---|"]
        for name, label in (("held_out_intent_turns", "of a held-out intent"), ("other_turns", "of the other intents")):
            u = transfer[name]
            if u["uplift"] is not None:
                out.append(f"| {label} ({u['conversations']} conversations) | {_pct(u['baseline'])} | "
                           f"{_pct(u['treated'])} | {_pts(u['uplift'])} | {_pts(u['ci_low'])} … "
                           f"{_pts(u['ci_high'])} | {u['p_value']:.4f} |")
    if any(summary["forgetting"]):
        out += ["", "## Forgetting (probe turns re-scored with the memory after each learning window)", "",
                "| ordering | window | probe turn success | got worse | got better |", "|---|---|---|---|---|"]
        for r, rows in enumerate(summary["forgetting"]):
            out += [f"| {r} | {row['window']} | {_pct(row['turn_success'])} | {_pct(row['got_worse'])} | "
                    f"{_pct(row['got_better'])} |" for row in rows]
    out += ["", "## Memory", "", "| ordering | active | candidate | retired | added | retired (churn) |",
            "|---|---|---|---|---|---|"]
    for r, run in enumerate(summary["learning"]):
        m = run["memory"]
        out.append(f"| {r} | {m['active']} | {m['candidate']} | {m['retired']} | {run['churn']['added']} | "
                   f"{run['churn']['retired']} |")
    out += ["", "## The playbook (each ordering's active entries, most injected first, with provenance)"]
    for r, run in enumerate(summary["learning"]):
        out += ["", f"Ordering {r}:", "",
                "| entry | instruction | cue | evidence (first) | injected | success with | why active |",
                "|---|---|---|---|---|---|---|"]
        out += [f"| `{e['entry_id']}` | {e['instruction']} | {', '.join(map(str, e['cue']))} | {e['evidence']} "
                f"({e['first_evidence']}) | {e['injected']} | {e['success_with']} | {e['status_reason']} |"
                for e in run["playbook"][:PLAYBOOK_ROWS]]
    cost = summary["cost_usd"]
    per = cost["frozen_per_strict_success"]
    learning = sum(w["cost_usd"] for w in summary["learning_curve_band"])
    out += ["", "## Cost", "", *(f"![{name}]({name})" for name in images if name == "cost_curve.png"),
            (f"Held-out phases: ${cost['total']:.4f}; frozen memory per strict success: "
             f"{'n/a' if per is None else f'${per:.4f}'}. Learning (every ordering): ${learning:.4f}."
             + (" Offline agents and the rule teacher cost nothing." if summary["simulated"] else "")), "",
            "| phase | role | USD |", "|---|---|---|"]
    out += [f"| {phase} | {role} | {usd:.4f} |" for phase, roles in cost["by_phase"].items()
            for role, usd in sorted(roles.items())]
    return "\n".join(out)


def plots(out: Path, summary: dict[str, Any]) -> list[str]:
    """Draw the uplift of each arm with its CI and the learning curve with its band; their file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    arms = [(label, u) for label, u in (("frozen", summary["uplift"]["strict"]["frozen"]),
                                        ("placebo", summary["uplift"]["strict"]["placebo"]),
                                        *((f"frozen {r}", u) for r, u in
                                          enumerate(summary["uplift"]["strict"]["frozen_by_ordering"])))
            if u["uplift"] is not None]
    if arms:
        fig, ax = plt.subplots(figsize=(6, 0.5 * len(arms) + 1.2))
        for y, (label, u) in enumerate(arms):
            ax.errorbar([100 * u["uplift"]], [y], xerr=[[100 * (u["uplift"] - u["ci_low"])],
                                                        [100 * (u["ci_high"] - u["uplift"])]], fmt="o", capsize=4)
        ax.axvline(0, color="grey", linewidth=1)
        ax.set_yticks(range(len(arms)), [label for label, _ in arms])
        ax.set_xlabel("strict success uplift vs baseline (points, 95 % CI)")
        ax.set_title("Uplift on the held-out split")
        fig.tight_layout()
        fig.savefig(out / "uplift.png", dpi=100)
        plt.close(fig)
        names.append("uplift.png")
    band = [w for w in summary["learning_curve_band"] if w["mean"] is not None]
    if band:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        xs = [w["first_episode"] for w in band]
        ax.plot(xs, [100 * w["mean"] for w in band], marker="o", label="mean over orderings")
        ax.fill_between(xs, [100 * w["low"] for w in band], [100 * w["high"] for w in band], alpha=0.2,
                        label="min–max")
        ax.set_xlabel("learning episode (window start)")
        ax.set_ylabel("turn success (%)")
        ax.set_ylim(0, 100)
        ax.set_title("Learning curve (prequential)")
        ax.legend(loc="lower right", frameon=False)
        fig.tight_layout()
        fig.savefig(out / "learning_curve.png", dpi=100)
        plt.close(fig)
        names.append("learning_curve.png")
    spent = [w["cost_usd"] for w in summary["learning_curve_band"]]
    if any(spent):  # a free (offline) run has no cost curve to draw
        fig, ax = plt.subplots(figsize=(6, 3.5))
        xs = [w["first_episode"] for w in summary["learning_curve_band"]]
        totals = [sum(spent[:i + 1]) for i in range(len(spent))]
        ax.plot(xs, totals, marker="o")
        ax.set_xlabel("learning episode (window start)")
        ax.set_ylabel("USD through the window (all orderings)")
        ax.set_ylim(bottom=0)
        ax.set_title("Learning cost")
        fig.tight_layout()
        fig.savefig(out / "cost_curve.png", dpi=100)
        plt.close(fig)
        names.append("cost_curve.png")
    return names
