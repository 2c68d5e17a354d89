"""``report.md`` and its plots, from a run's summary and result lines.

Plots (PNG, matplotlib's Agg backend, in the run directory): success by complexity, success by task
intent, the pass^k curve with its confidence band, and cost against strict success per complexity.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from crm_env.eval.config import RESULTS_FILE
from crm_env.eval.metrics import UNDECIDED_OUTCOMES, VALID_REQUEST, failed_components
from crm_env.eval.results import ResultLine, load_results

WORST_CATEGORIES = 5
EXAMPLES_PER_CATEGORY = 2


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def _metric(m: dict[str, Any]) -> str:
    ci = f" ({_pct(m['ci_low'])} – {_pct(m['ci_high'])})" if m.get("ci_low") is not None else ""
    return _pct(m["value"]) + ci


def _cell(row: dict[str, Any], column: str) -> Any:
    """A group table's cell: a rate with its CI where the summary has one, a count as it is."""
    if "success" not in column and "share" not in column:
        return row[column]
    ci = row.get(f"{column}_ci")
    if ci and ci[0] is not None:
        return f"{_pct(row[column])} ({_pct(ci[0])} – {_pct(ci[1])})"
    return _pct(row[column])


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join("n/a" if c is None else str(c) for c in row) + " |" for row in rows]
    return out + [""]


def plots(run_dir: Path, summary: dict[str, Any], lines: list[ResultLine]) -> list[str]:
    """Draw the PNGs; returns their file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    # success by complexity
    comp = summary["by_complexity"]
    order = [c for c in ("simple", "medium", "complex") if c in comp] + [c for c in comp if c not in ("simple", "medium", "complex")]
    if order:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        x = range(len(order))
        ax.bar([i - 0.2 for i in x], [100 * (comp[c]["strict_success"] or 0) for c in order], 0.4, label="strict")
        ax.bar([i + 0.2 for i in x], [100 * (comp[c]["turn_success"] or 0) for c in order], 0.4, label="turn")
        ax.set_xticks(list(x), order)
        ax.set_ylabel("success (%)")
        ax.set_ylim(0, 100)
        ax.set_title("Success by complexity")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)  # outside: bars reach 100 %
        fig.tight_layout()
        fig.savefig(run_dir / "success_by_complexity.png", dpi=100)
        plt.close(fig)
        names.append("success_by_complexity.png")
    # success by intent
    intents = sorted(summary["by_intent"].items(), key=lambda kv: kv[1]["turn_success"] or 0)
    if intents:
        fig, ax = plt.subplots(figsize=(7, max(3, 0.28 * len(intents))))
        ax.barh([k for k, _ in intents], [100 * (v["turn_success"] or 0) for _, v in intents])
        ax.set_xlabel("turn success (%)")
        ax.set_xlim(0, 100)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_title("Turn success by task intent")
        fig.tight_layout()
        fig.savefig(run_dir / "success_by_intent.png", dpi=100)
        plt.close(fig)
        names.append("success_by_intent.png")
    # pass^k curve
    rows = [r for r in summary["pass_hat_k"] if r["value"] is not None]
    if rows:
        fig, ax = plt.subplots(figsize=(5, 3.5))
        ks = [r["k"] for r in rows]
        ax.plot(ks, [100 * r["value"] for r in rows], marker="o")
        if all(r["ci_low"] is not None for r in rows):
            ax.fill_between(ks, [100 * r["ci_low"] for r in rows], [100 * r["ci_high"] for r in rows], alpha=0.2)
        ax.set_xlabel("k (trials that must all succeed)")
        ax.set_ylabel("pass^k (%)")
        ax.set_ylim(0, 100)
        ax.set_xticks(ks)
        ax.set_title("Reliability: pass^k")
        fig.tight_layout()
        fig.savefig(run_dir / "pass_hat_k.png", dpi=100)
        plt.close(fig)
        names.append("pass_hat_k.png")
    # cost vs success, one point per complexity (and the whole run)
    points: dict[str, list[float]] = {}
    for line in lines:
        if line.status != "completed":
            continue
        for key in (line.complexity, "all"):
            p = points.setdefault(key, [0.0, 0.0, 0.0])
            p[0] += line.cost_usd
            p[1] += bool(line.strict_success)
            p[2] += 1
    if points and any(cost > 0 for cost, _, _ in points.values()):  # a free run has no cost axis to draw
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for key, (cost, ok, n) in points.items():
            ax.scatter([cost / n], [100 * ok / n], s=60 if key == "all" else 30)
            offset = (5, -12) if key == "all" else (5, 5)  # "all" sits among the others: label it below
            ax.annotate(key, (cost / n, 100 * ok / n), textcoords="offset points", xytext=offset, fontsize=8)
        ax.set_xlabel("cost per episode (USD)")
        ax.set_ylabel("strict success (%)")
        ax.set_ylim(0, 100)
        ax.set_title("Cost vs success")
        fig.tight_layout()
        fig.savefig(run_dir / "cost_vs_success.png", dpi=100)
        plt.close(fig)
        names.append("cost_vs_success.png")
    return names


def _example(line: ResultLine, turn: Any) -> str:
    why = "; ".join(f"{n}: {turn.breakdown[n].rationale}" for n in failed_components(turn)) or "see breakdown"
    calls = ", ".join(s.tool or "(invalid)" for s in turn.steps if s.ok is not None) or "no calls"
    reply = turn.reply.replace("\n", " ").replace("|", "/")[:160]
    return f"`{line.conversation_id}` trial {line.trial} turn {turn.turn_id} ({turn.intent}): calls {calls}; " \
           f"reply “{reply}”; {why.replace('|', '/')[:300]}"


def _judge_mode(summary: dict[str, Any]) -> str:
    mode = summary.get("judge_mode") or "undecided"
    rate = summary.get("judge_audit_rate")
    return f"mode `{mode}`" + (f", audit rate {rate}" if mode == "audit" and rate is not None else "")


def _undecided_section(summary: dict[str, Any]) -> list[str]:
    """What the deterministic checks left undecided and what decided it: how much a judge changes."""
    block = summary["undecided"]
    turns = block["turns"]
    out = ["## Undecided checks and the judge", ""]
    out += ["Checks the deterministic reward could neither confirm nor refute. Without a judge they stay "
            "undecided and the turn is not a success; with one, its verdict decides them.", ""]
    keys = list(UNDECIDED_OUTCOMES)
    out += _table(["component"] + [UNDECIDED_OUTCOMES[k] for k in keys],
                  [["turns (any component)"] + [turns[k] for k in keys]]
                  + [[name] + [row[k] for k in keys] for name, row in block["by_component"].items()])
    out += [f"Undecided turns: {turns['undecided']} ({_pct(block['share_of_turns'])} of turns); "
            f"{turns['all_else_passed']} of them passed every other check, so the judge's verdict decides the "
            f"turn. Turn success had a judge passed every undecided check: "
            f"{_pct(block['turn_success_if_judge_passes_all'])} (now {_pct(summary['turn_success']['value'])}).", ""]
    j = summary["judge"]
    if j["audited"] or summary.get("judge_mode") == "audit":
        out += [f"Audit of deterministic passes: {j['audited']} turn(s) audited, {j['vetoes']} vetoed "
                "(the judge failed a turn every deterministic check passed; those turns count as failures).", ""]
    return out


def render(summary: dict[str, Any], lines: list[ResultLine], images: list[str]) -> str:
    ep = summary["episodes"]
    out = ["# Evaluation report", ""]
    if summary.get("simulated"):
        out += [f"> **Simulated agent** (`{summary.get('agent')}`): an offline stand-in, not a language model.", ""]
    if "agent" in summary:
        out += [f"Agent `{summary['agent']}`" + (f", model `{summary['agent_model']}`" if summary.get("agent_model") else "")
                + (f", judge `{summary['judge_model']}` ({_judge_mode(summary)})" if summary.get("judge_model")
                   else ", no judge")
                + f"; dataset {summary.get('dataset') or 'unnamed'} (`{summary.get('dataset_hash', '')[:19]}…`), "
                f"crm_env {summary.get('package_version')}.", ""]
    out += ["## Headline", ""]
    out += _table(["metric", "value (95 % CI)"], [
        ["strict success (conversations)", _metric(summary["strict_success"])],
        ["turn success", _metric(summary["turn_success"])],
        ["tool success (CRM effect)", _metric(summary["tool_success"])],
        ["response success (reply)", _metric(summary["response_success"])],
        *[[f"pass^{r['k']}", _metric(r)] for r in summary["pass_hat_k"]],
        ["episodes completed / planned", f"{ep['completed']} / {ep['planned'] if ep['planned'] is not None else '?'}"],
        ["infrastructure failures (excluded)", ep["infra_errors"]],
        ["total cost", f"${summary['usage']['total_cost_usd']:.4f}"],
        ["cost per strict success", "n/a" if summary["usage"]["cost_per_strict_success_usd"] is None
         else f"${summary['usage']['cost_per_strict_success_usd']:.4f}"],
        ["wall time", f"{summary['wall_time_s']:.1f} s"],
    ])
    out += ["## Tokens and cost by role", ""]
    by_role = summary["usage"]["by_role"]
    if by_role:
        out += _table(["role", "calls", "input", "cached", "output", "cost (USD)"],
                      [[r, u["calls"], u["input_tokens"], u["cached_tokens"], u["output_tokens"], f"{u['cost_usd']:.4f}"]
                       for r, u in by_role.items()])
    else:
        out += ["No LLM calls (an offline agent and no judge).", ""]
    j = summary["judge"]
    out += [f"Judge: consulted on {j['turns_consulted']} turn(s): {j['passed']} passed, {j['failed']} failed, "
            f"{j['errors']} error(s), {j['cached']} from cache; {j['calls']} call(s).", ""]
    out += _undecided_section(summary)
    out += ["## Latency (seconds)", ""]
    out += _table(["what", "p50", "p90", "p99", "n"],
                  [[k, v["p50"], v["p90"], v["p99"], v["n"]] for k, v in summary["latency_s"].items()])
    for key, title, cols in (("by_complexity", "By complexity", ("episodes", "strict_success", "turns", "turn_success")),
                             ("by_workflow", "By workflow", ("episodes", "strict_success", "turns", "turn_success")),
                             ("by_intent", "By task intent", ("turns", "turn_success", "tool_success", "response_success")),
                             ("by_failure_category", "By failure category (negative turns)", ("turns", "turn_success", "failed_turns")),
                             ("by_failed_component", "Failed turns by component", ("failed_turns", "share_of_failures"))):
        rows = [[name] + [_cell(v, c) for c in cols]
                for name, v in summary[key].items() if not (key == "by_failure_category" and name == VALID_REQUEST)]
        out += [f"## {title}", ""] + _table([key.removeprefix("by_").replace("_", " ")] + list(cols), rows)
        if key == "by_failed_component" and rows:
            out += ["A failed turn can fail several components, so the shares add up to more than 100 %.", ""]
    # the worst failure categories, with example turns
    worst = sorted(((k, v) for k, v in summary["by_failure_category"].items() if v["failed_turns"] and k != VALID_REQUEST),
                   key=lambda kv: (kv[1]["turn_success"] if kv[1]["turn_success"] is not None else 1, -kv[1]["failed_turns"]))
    out += ["## Worst failure categories", ""]
    if not worst:
        out += ["No failed turns.", ""]
    for name, v in worst[:WORST_CATEGORIES]:
        out += [f"### {name}: {_pct(v['turn_success'])} of {v['turns']} turns succeeded", ""]
        shown = 0
        for line in lines:
            for turn in line.turns:
                if shown < EXAMPLES_PER_CATEGORY and not turn.success and turn.failure_category == name:
                    out.append(f"- {_example(line, turn)}")
                    shown += 1
        out.append("")
    if summary["infra_failures"]:
        out += ["## Infrastructure failures (excluded; retried by --resume)", ""]
        out += [f"- `{f['conversation_id']}` trial {f['trial']}: {f['cause']}" for f in summary["infra_failures"][:50]]
        out.append("")
    if images:
        out += ["## Plots", ""] + [f"![{name}]({name})" for name in images] + [""]
    return "\n".join(out)


def write_report(run_dir: Path, summary: dict[str, Any], lines: Iterable[ResultLine] | None = None) -> Path:
    """Write ``report.md`` and the PNGs into ``run_dir`` (``lines``: the run's result lines, when the caller
    has already read them)."""
    if lines is None:
        lines = load_results(run_dir / RESULTS_FILE).lines.values()
    lines = sorted(lines, key=lambda l: l.key)
    images = plots(run_dir, summary, lines)
    path = run_dir / "report.md"
    path.write_text(render(summary, lines, images), encoding="utf-8")
    return path
