"""Every evaluation metric, defined once, computed from result lines alone.

Only ``completed`` episodes are scored; ``infra_error`` episodes are listed, never counted.

Definitions:

- **strict success**: the share of episodes (conversation × trial) in which every turn succeeded.
- **turn success**: the share of turns whose verdict is a success (every decisive reward component
  passed, ``crm_env.rewards.ensemble``).
- **tool success**: the share of turns whose CRM effect is correct: the ``state`` component passed.
- **response success**: over turns whose reply is checked (the ``reply`` or ``refusal`` component
  applies), the share where every such component passed.
- **pass^k** (k = 1..K): the chance that k independent trials of a conversation all succeed, estimated
  without bias as in tau-bench: mean over conversations of C(c, k) / C(n, k), with n trials of which c
  were strict successes (conversations with fewer than k completed trials are left out for that k).
- **95 % confidence intervals**: percentile bootstrap over conversations (trials and turns of a
  conversation stay together), ``BOOTSTRAP_SAMPLES`` resamples from a seeded numpy generator.
- **judge usage**: turns where the judge was consulted, its passes, failures, cache hits and calls;
  ``audited``: deterministic passes it was asked to audit (``judge_mode="audit"``), ``vetoes``: audits
  it failed (those turns fail).
- **undecided** (``UNDECIDED_OUTCOMES``): turns with at least one decisive component the deterministic
  checks left undecided, and per component, each split by what became of it: passed by the judge,
  failed by the judge, or still undecided (no judge: not a success). ``all_else_passed``: such turns
  whose every other decisive component passed, so the judge's verdict decides the turn;
  ``turn_success_if_judge_passes_all``: turn success had a judge passed every undecided component
  (the most a judge could add).
- **tokens and cost** per role (agent, judge), and cost per strict success.
- **latency percentiles** (p50, p90, p99) of agent actions, LLM calls, turns and episodes.
- **wall time**: per session (one invocation of the runner), first start to last finish; summed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from crm_env.eval.results import ComponentRecord, ResultLine, TurnRecord, Usage
from crm_env.rewards.arbiter import AUDIT, JUDGE, UNDECIDED, VETO
from crm_env.rewards.ensemble import DECISIVE

BOOTSTRAP_SAMPLES = 2000
CI_LEVEL = 0.95
PERCENTILES = (50, 90, 99)
REPLY_COMPONENTS = ("reply", "refusal")
# What became of a component the deterministic checks left undecided (summary keys → meaning).
UNDECIDED_OUTCOMES: dict[str, str] = {
    "undecided": "left undecided by the deterministic checks",
    "judge_passed": "then passed by the judge",
    "judge_failed": "then failed by the judge",
    "unjudged": "still undecided (no judge: not a success)",
}
_OUTCOME_OF_STATUS = {"pass": "judge_passed", "fail": "judge_failed", "undecided": "unjudged"}


VALID_REQUEST = "none (valid request)"  # the category row of turns that must succeed (not a failure category)


# ---------------------------------------------------------------------- per-turn definitions
def turn_success(turn: TurnRecord) -> bool:
    return turn.success


def tool_success(turn: TurnRecord) -> bool:
    state = turn.breakdown.get("state")
    return state is not None and state.status == "pass"


def response_checked(turn: TurnRecord) -> bool:
    return any(name in turn.breakdown and turn.breakdown[name].status != "n/a" for name in REPLY_COMPONENTS)


def response_success(turn: TurnRecord) -> bool:
    return all(turn.breakdown[name].status == "pass" for name in REPLY_COMPONENTS
               if name in turn.breakdown and turn.breakdown[name].status != "n/a")


def failed_components(turn: TurnRecord) -> list[str]:
    return [n for n in DECISIVE if n in turn.breakdown and turn.breakdown[n].status not in ("pass", "n/a")]


def was_undecided(component: ComponentRecord) -> bool:
    """The deterministic check left it undecided (whatever decided it afterwards)."""
    return component.status == "undecided" or component.details.get(UNDECIDED) is True


def undecided_components(turn: TurnRecord) -> dict[str, str]:
    """The decisive components left undecided, each with its outcome (an ``UNDECIDED_OUTCOMES`` key
    other than ``undecided``; ``error`` if the judge failed, which the runner excludes anyway)."""
    out = {}
    for name in DECISIVE:
        component = turn.breakdown.get(name)
        if component is not None and was_undecided(component):
            out[name] = _OUTCOME_OF_STATUS.get(component.status, "error")
    return out


def all_else_passed(turn: TurnRecord) -> bool:
    """Some decisive component was left undecided and every other one passed: the judge's verdict on
    the undecided ones decides the turn."""
    open_ = undecided_components(turn)
    return bool(open_) and all(turn.breakdown[n].status in ("pass", "n/a") for n in DECISIVE
                               if n in turn.breakdown and n not in open_)


def audited(turn: TurnRecord) -> bool:
    judge = turn.breakdown.get(JUDGE)
    return judge is not None and judge.details.get(AUDIT) is True


def vetoed(turn: TurnRecord) -> bool:
    judge = turn.breakdown.get(JUDGE)
    return judge is not None and judge.details.get(VETO) is True


# ---------------------------------------------------------------------- estimators
def pass_hat_k(n: int, c: int, k: int) -> float:
    """The unbiased estimate that k trials drawn from n (c of them successes) all succeed."""
    if k > n:
        raise ValueError(f"k={k} exceeds the {n} trials")
    return math.comb(c, k) / math.comb(n, k)


def bootstrap_ratio(numer: np.ndarray, denom: np.ndarray, rng: np.random.Generator,
                    samples: int = BOOTSTRAP_SAMPLES) -> tuple[float, float]:
    """Percentile CI of sum(numer) / sum(denom), resampling clusters (rows) with replacement."""
    m = len(numer)
    if m == 0:
        return (math.nan, math.nan)
    idx = rng.integers(0, m, size=(samples, m))
    den = denom[idx].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        stats = numer[idx].sum(axis=1) / den
    stats = stats[np.isfinite(stats)]
    if stats.size == 0:
        return (math.nan, math.nan)
    alpha = (1 - CI_LEVEL) / 2
    low, high = np.quantile(stats, [alpha, 1 - alpha])
    return (float(low), float(high))


def estimate(numer: Sequence[float], denom: Sequence[float], rng: np.random.Generator) -> dict[str, Any]:
    """A ratio over clusters with its bootstrap CI: ``{"value", "ci_low", "ci_high", "n"}``."""
    num = np.asarray(numer, dtype=float)
    den = np.asarray(denom, dtype=float)
    total = float(den.sum())
    value = float(num.sum()) / total if total else None
    low, high = bootstrap_ratio(num, den, rng) if total else (math.nan, math.nan)
    return {"value": value, "ci_low": _num(low), "ci_high": _num(high), "n": int(total)}


def _num(x: float) -> float | None:
    return None if x is None or math.isnan(x) else round(x, 6)


def percentiles(values: Iterable[float]) -> dict[str, float | None]:
    data = np.asarray(list(values), dtype=float)
    if data.size == 0:
        return {f"p{p}": None for p in PERCENTILES} | {"mean": None, "n": 0}
    out = {f"p{p}": round(float(np.percentile(data, p)), 6) for p in PERCENTILES}
    return out | {"mean": round(float(data.mean()), 6), "n": int(data.size)}


# ---------------------------------------------------------------------- grouping helpers
def by_conversation(lines: Iterable[ResultLine]) -> dict[str, list[ResultLine]]:
    groups: dict[str, list[ResultLine]] = defaultdict(list)
    for line in lines:
        groups[line.conversation_id].append(line)
    return dict(sorted(groups.items()))


def episode_counts(groups: dict[str, list[ResultLine]]) -> tuple[list[float], list[float]]:
    """Per conversation: strict successes and episodes."""
    return ([sum(bool(l.strict_success) for l in ls) for ls in groups.values()],
            [len(ls) for ls in groups.values()])


def turn_counts(groups: dict[str, list[ResultLine]], ok: Callable[[TurnRecord], bool],
                applies: Callable[[TurnRecord], bool] = lambda t: True) -> tuple[list[float], list[float]]:
    """Per conversation: turns passing ``ok`` and turns where it ``applies``."""
    numer, denom = [], []
    for lines in groups.values():
        turns = [t for line in lines for t in line.turns if applies(t)]
        numer.append(sum(ok(t) for t in turns))
        denom.append(len(turns))
    return numer, denom


def pass_k_table(groups: dict[str, list[ResultLine]], max_k: int, seed: int) -> list[dict[str, Any]]:
    rows = []
    for k in range(1, max_k + 1):
        values = [pass_hat_k(len(ls), sum(bool(l.strict_success) for l in ls), k) for ls in groups.values()
                  if len(ls) >= k]
        est = estimate(values, [1.0] * len(values), np.random.default_rng(seed))
        rows.append({"k": k, "value": est["value"], "ci_low": est["ci_low"], "ci_high": est["ci_high"],
                     "conversations": len(values)})
    return rows


def headline(lines: Sequence[ResultLine], seed: int) -> dict[str, Any]:
    """The headline rates; each bootstrap starts from ``seed`` afresh, so the same data gets the same CI
    (strict success and pass^1 of a one-trial run are one number with one interval)."""
    groups = by_conversation(lines)
    return {
        "strict_success": estimate(*episode_counts(groups), np.random.default_rng(seed)),
        "turn_success": estimate(*turn_counts(groups, turn_success), np.random.default_rng(seed)),
        "tool_success": estimate(*turn_counts(groups, tool_success), np.random.default_rng(seed)),
        "response_success": estimate(*turn_counts(groups, response_success, response_checked),
                                     np.random.default_rng(seed)),
    }


def _rate(ok: int, n: int) -> float | None:
    return round(ok / n, 6) if n else None


def _group_ci(per_conversation: dict[str, list[float]], seed: int) -> list[float | None]:
    """The bootstrap CI of a group's rate from its per-conversation [successes, trials], clustered as the
    headline's are (conversations resampled)."""
    est = estimate([v[0] for v in per_conversation.values()], [v[1] for v in per_conversation.values()],
                   np.random.default_rng(seed))
    return [est["ci_low"], est["ci_high"]]


def breakdowns(lines: Sequence[ResultLine], seed: int = 0) -> dict[str, dict[str, dict[str, Any]]]:
    """Success by complexity and workflow (episodes and turns), by intent, failure category, failed component;
    each group's rates with their counts and a 95 % CI (``*_ci``)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}

    def clusters() -> defaultdict[str, defaultdict[str, list[float]]]:
        return defaultdict(lambda: defaultdict(lambda: [0.0, 0.0]))

    for attr in ("complexity", "workflow"):
        table: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        strict, turned = clusters(), clusters()
        for line in lines:
            key = getattr(line, attr)
            row = table[key]
            row["episodes"] += 1
            row["strict"] += bool(line.strict_success)
            row["turns"] += len(line.turns)
            row["turn_ok"] += sum(t.success for t in line.turns)
            strict[key][line.conversation_id][0] += bool(line.strict_success)
            strict[key][line.conversation_id][1] += 1
            turned[key][line.conversation_id][0] += sum(t.success for t in line.turns)
            turned[key][line.conversation_id][1] += len(line.turns)
        out[f"by_{attr}"] = {k: {"episodes": r["episodes"], "strict_success": _rate(r["strict"], r["episodes"]),
                                 "strict_success_ci": _group_ci(strict[k], seed),
                                 "turns": r["turns"], "turn_success": _rate(r["turn_ok"], r["turns"]),
                                 "turn_success_ci": _group_ci(turned[k], seed)}
                             for k, r in sorted(table.items())}
    intents: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    categories: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_intent, by_category = clusters(), clusters()
    components: dict[str, int] = defaultdict(int)
    failed_turns = 0
    for line in lines:
        for turn in line.turns:
            row = intents[turn.intent]
            row["turns"] += 1
            row["ok"] += turn.success
            row["tool_ok"] += tool_success(turn)
            if response_checked(turn):
                row["checked"] += 1
                row["response_ok"] += response_success(turn)
            name = turn.failure_category or VALID_REQUEST
            cat = categories[name]
            cat["turns"] += 1
            cat["ok"] += turn.success
            for cluster in (by_intent[turn.intent][line.conversation_id],
                            by_category[name][line.conversation_id]):
                cluster[0] += turn.success
                cluster[1] += 1
            if not turn.success:
                failed_turns += 1
                for component in failed_components(turn) or ["other"]:
                    components[component] += 1
    out["by_intent"] = {k: {"turns": r["turns"], "turn_success": _rate(r["ok"], r["turns"]),
                            "turn_success_ci": _group_ci(by_intent[k], seed),
                            "tool_success": _rate(r["tool_ok"], r["turns"]),
                            "response_success": _rate(r["response_ok"], r["checked"])}
                        for k, r in sorted(intents.items())}
    out["by_failure_category"] = {k: {"turns": r["turns"], "turn_success": _rate(r["ok"], r["turns"]),
                                      "turn_success_ci": _group_ci(by_category[k], seed),
                                      "failed_turns": r["turns"] - r["ok"]} for k, r in sorted(categories.items())}
    out["by_failed_component"] = {k: {"failed_turns": v, "share_of_failures": _rate(v, failed_turns)}
                                  for k, v in sorted(components.items(), key=lambda kv: -kv[1])}
    return out


def judge_usage(lines: Sequence[ResultLine]) -> dict[str, int]:
    usage = {"turns_consulted": 0, "passed": 0, "failed": 0, "errors": 0, "cached": 0, "calls": 0,
             "audited": 0, "vetoes": 0}
    for line in lines:
        for turn in line.turns:
            judge = turn.breakdown.get(JUDGE)
            usage["calls"] += len(turn.judge_calls)
            if judge is None:
                continue
            usage["turns_consulted"] += 1
            usage[{"pass": "passed", "fail": "failed"}.get(judge.status, "errors")] += 1
            usage["cached"] += bool(judge.details.get("cached"))
            usage["audited"] += audited(turn)
            usage["vetoes"] += vetoed(turn)
    return usage


def undecided_counts(lines: Sequence[ResultLine]) -> dict[str, Any]:
    """The undecided accounting of a run (see the module docstring)."""
    turns = {key: 0 for key in UNDECIDED_OUTCOMES} | {"all_else_passed": 0}
    by_component = {name: {key: 0 for key in UNDECIDED_OUTCOMES} for name in DECISIVE}
    total = successes = could_pass = 0
    for line in lines:
        for turn in line.turns:
            total += 1
            successes += turn.success
            outcomes = undecided_components(turn)
            if not outcomes:
                continue
            turns["undecided"] += 1
            for name, outcome in outcomes.items():
                row = by_component[name]
                row["undecided"] += 1
                if outcome in row:
                    row[outcome] += 1
            values = set(outcomes.values())
            # one verdict decides all of a turn's undecided components; "still undecided" wins if mixed
            for outcome in ("unjudged", "judge_failed", "judge_passed"):
                if outcome in values:
                    turns[outcome] += 1
                    break
            if all_else_passed(turn):
                turns["all_else_passed"] += 1
                could_pass += not turn.success
    return {"turns": turns, "share_of_turns": _rate(turns["undecided"], total), "by_component": by_component,
            "turn_success_if_judge_passes_all": _rate(successes + could_pass, total)}


def usage_by_role(lines: Iterable[ResultLine]) -> dict[str, dict[str, Any]]:
    roles: dict[str, Usage] = {}
    for line in lines:
        for role, usage in line.usage.items():
            roles.setdefault(role, Usage()).merge(usage)
    return {role: {**u.model_dump(), "cost_usd": round(u.cost_usd, 6)} for role, u in sorted(roles.items())}


def wall_time(lines: Iterable[ResultLine]) -> float:
    sessions: dict[str, list[float]] = {}
    for line in lines:
        span = sessions.setdefault(line.session, [line.started_at, line.finished_at])
        span[0], span[1] = min(span[0], line.started_at), max(span[1], line.finished_at)
    return round(sum(end - start for start, end in sessions.values()), 6)


def summarize(lines: Iterable[ResultLine], *, trials: int | None = None, planned: int | None = None,
              seed: int = 0) -> dict[str, Any]:
    """The summary of a run (``summary.json``) from its result lines.

    Args:
        lines: The result lines (one per pair; see ``results.load_results``).
        trials: K for pass^k (the most trials of any conversation when None).
        planned: Episodes the run set out to do (for the pending count), when known.
        seed: Seeds the bootstrap.
    """
    every = list(lines)
    # In key order: the bootstraps resample by position, and lines arrive in whatever order episodes finish.
    done = sorted((l for l in every if l.status == "completed"), key=lambda l: l.key)
    infra = sorted((l for l in every if l.status == "infra_error"), key=lambda l: l.key)
    groups = by_conversation(done)
    k_max = trials or max((len(v) for v in groups.values()), default=1)
    head = headline(done, seed)
    roles = usage_by_role(every)
    total_cost = round(sum(r["cost_usd"] for r in roles.values()), 6)
    strict = sum(bool(l.strict_success) for l in done)
    turns = [t for l in done for t in l.turns]
    wall = wall_time(every)
    return {
        "episodes": {"planned": planned, "completed": len(done), "infra_errors": len(infra),
                     "pending": None if planned is None else planned - len(done) - len(infra),
                     "conversations": len(groups), "turns": len(turns)},
        **head,
        "pass_hat_k": pass_k_table(groups, k_max, seed),
        "judge": judge_usage(done),
        "undecided": undecided_counts(done),
        **breakdowns(done, seed),
        "usage": {"by_role": roles, "total_cost_usd": total_cost,
                  "cost_per_strict_success_usd": round(total_cost / strict, 6) if strict else None,
                  "models": sorted({c.model for l in every for t in l.turns for s in t.steps for c in s.llm_calls}
                                   | {c.model for l in every for t in l.turns for c in t.judge_calls})},
        "latency_s": {
            "agent_action": percentiles(s.agent_latency_s for t in turns for s in t.steps),
            "llm_call": percentiles(c.latency_s for t in turns for s in t.steps for c in s.llm_calls),
            "turn": percentiles(t.latency_s for t in turns),
            "episode": percentiles(l.latency_s for l in done),
        },
        "wall_time_s": wall,
        "episodes_per_s": round(len(every) / wall, 3) if wall > 0 else None,
        "infra_failures": [{"conversation_id": l.conversation_id, "trial": l.trial, "cause": l.cause} for l in infra],
    }


# Fields that depend on timing, not on what the agent did: left out when two runs' summaries are compared.
TIMING_FIELDS = ("latency_s", "wall_time_s", "episodes_per_s")
