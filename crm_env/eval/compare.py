"""Two runs side by side on the conversations they share: each metric's delta (B − A) with a paired
bootstrap 95 % CI (the same resampled conversations for both runs, so per-conversation difficulty
cancels out)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from crm_env.errors import ConfigError
from crm_env.eval import metrics
from crm_env.eval.config import RESULTS_FILE, read_record
from crm_env.eval.results import ResultLine, load_results

SEED = 0


def _groups(run_dir: Path) -> dict[str, list[ResultLine]]:
    path = run_dir / RESULTS_FILE
    if not path.is_file():
        raise ConfigError(f"{run_dir} holds no {RESULTS_FILE}")
    return metrics.by_conversation(load_results(path).completed)


def _paired(na: np.ndarray, da: np.ndarray, nb: np.ndarray, db: np.ndarray, rng: np.random.Generator) -> dict[str, Any]:
    a = na.sum() / da.sum() if da.sum() else None
    b = nb.sum() / db.sum() if db.sum() else None
    if a is None or b is None:
        return {"a": a, "b": b, "delta": None, "ci_low": None, "ci_high": None}
    m = len(na)
    idx = rng.integers(0, m, size=(metrics.BOOTSTRAP_SAMPLES, m))
    with np.errstate(invalid="ignore", divide="ignore"):
        deltas = nb[idx].sum(1) / db[idx].sum(1) - na[idx].sum(1) / da[idx].sum(1)
    deltas = deltas[np.isfinite(deltas)]
    alpha = (1 - metrics.CI_LEVEL) / 2
    low, high = np.quantile(deltas, [alpha, 1 - alpha])
    return {"a": round(float(a), 6), "b": round(float(b), 6), "delta": round(float(b - a), 6),
            "ci_low": round(float(low), 6), "ci_high": round(float(high), 6),
            "significant": bool(low > 0 or high < 0)}


def compare_runs(run_a: Path, run_b: Path) -> dict[str, Any]:
    """Deltas (B − A) of the headline metrics and pass^k on the shared conversations.

    Raises:
        ConfigError: A run has no results, or the runs share no conversation.
    """
    ga, gb = _groups(run_a), _groups(run_b)
    shared = sorted(set(ga) & set(gb))
    if not shared:
        raise ConfigError("the two runs share no completed conversation")
    ga = {k: ga[k] for k in shared}
    gb = {k: gb[k] for k in shared}
    rng = np.random.default_rng(SEED)
    arr = lambda pair: tuple(np.asarray(x, dtype=float) for x in pair)  # noqa: E731
    out: dict[str, Any] = {}
    for name, counts in (
        ("strict_success", metrics.episode_counts),
        ("turn_success", lambda g: metrics.turn_counts(g, metrics.turn_success)),
        ("tool_success", lambda g: metrics.turn_counts(g, metrics.tool_success)),
        ("response_success", lambda g: metrics.turn_counts(g, metrics.response_success, metrics.response_checked)),
    ):
        out[name] = _paired(*arr(counts(ga)), *arr(counts(gb)), rng)
    k_max = min(min(len(v) for v in ga.values()), min(len(v) for v in gb.values()))
    for k in range(1, k_max + 1):
        va = np.asarray([metrics.pass_hat_k(len(ls), sum(bool(l.strict_success) for l in ls), k) for ls in ga.values()])
        vb = np.asarray([metrics.pass_hat_k(len(ls), sum(bool(l.strict_success) for l in ls), k) for ls in gb.values()])
        ones = np.ones(len(va))
        out[f"pass^{k}"] = _paired(va, ones, vb, ones, rng)
    cost_a = sum(l.cost_usd for ls in ga.values() for l in ls)
    cost_b = sum(l.cost_usd for ls in gb.values() for l in ls)
    names = []
    for run in (run_a, run_b):
        record = read_record(run)
        names.append({"dir": str(run), "agent": record.config.agent if record else None,
                      "model": record.agent_model if record else None})
    return {"a": names[0], "b": names[1], "shared_conversations": len(shared),
            "only_in_a": len(set(_groups(run_a)) - set(shared)), "only_in_b": len(set(_groups(run_b)) - set(shared)),
            "metrics": out, "cost_usd": {"a": round(cost_a, 6), "b": round(cost_b, 6)}}


def to_markdown(result: dict[str, Any]) -> str:
    def label(run: dict[str, Any]) -> str:
        return f"`{run['dir']}` ({run['agent']}{', ' + run['model'] if run['model'] else ''})"

    def pct(x: float | None, sign: bool = False) -> str:
        return "n/a" if x is None else (f"{100 * x:+.1f}" if sign else f"{100 * x:.1f}") + " %"

    lines = [f"# Comparison: A = {label(result['a'])}, B = {label(result['b'])}", "",
             f"{result['shared_conversations']} shared conversations (only in A: {result['only_in_a']}, "
             f"only in B: {result['only_in_b']}). Deltas are B − A with paired bootstrap 95 % CIs.", "",
             "| metric | A | B | delta | 95 % CI | significant |", "|---|---|---|---|---|---|"]
    for name, m in result["metrics"].items():
        ci = "n/a" if m["ci_low"] is None else f"{pct(m['ci_low'], True)} … {pct(m['ci_high'], True)}"
        lines.append(f"| {name} | {pct(m['a'])} | {pct(m['b'])} | {pct(m['delta'], True)} | {ci} | "
                     f"{'yes' if m.get('significant') else 'no'} |")
    lines += ["", f"Cost: A ${result['cost_usd']['a']:.4f}, B ${result['cost_usd']['b']:.4f}."]
    return "\n".join(lines)
