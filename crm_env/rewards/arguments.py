"""Argument matcher: the agent's tool calls against the gold calls, after canonicalisation.

Diagnostic (the state validator decides write turns): for each gold call, the agent's call of the same
tool with the most matching arguments is compared argument by argument. Values are canonicalised first
(``crm_env.rewards.canon.canonical_argument``: numbers, whitespace, date spellings). A value that
differs from the gold one only in letter case (``closed-won`` for ``Closed-Won``) is reported apart, as
``case_mismatches``: the CRM's enums are case-sensitive, so it is a real error, but a telling one.

Score: the mean over gold calls of the fraction of gold arguments matched (0 for a tool never called;
1 for a call whose gold arguments are all empty when the tool was called). Extra agent arguments are
listed, not penalised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from crm_env.rewards.canon import canonical_argument
from crm_env.rewards.component import Component, Status, shared

NAME = "arguments"


def _compare(gold: Mapping[str, Any], actual: Mapping[str, Any]) -> tuple[int, dict[str, Any], list[str], list[str]]:
    if gold == actual:  # every argument equal (the common case): nothing to canonicalise or report
        return len(gold), {}, [], []
    matched = 0
    mismatches: dict[str, Any] = {}
    case: list[str] = []
    for name, expected in gold.items():
        if expected is None:
            matched += 1
            continue
        value = actual.get(name)
        if value == expected:
            matched += 1
            continue
        want = canonical_argument(expected)
        got = canonical_argument(value)
        if want == got:
            matched += 1
            continue
        if isinstance(want, str) and isinstance(got, str) and want.casefold() == got.casefold():
            case.append(name)
        mismatches[name] = {"expected": expected, "actual": value}
    extra = [k for k, v in actual.items() if v is not None and k not in gold]
    if len(extra) > 1:
        extra.sort()
    return matched, mismatches, case, extra


def match_arguments(
    gold_calls: Sequence[tuple[str, Mapping[str, Any]]], agent_calls: Sequence[tuple[str, Mapping[str, Any]]]
) -> Component:
    """Compare the agent's calls of a turn with the (resolved) gold calls."""
    if not gold_calls:
        return Component(NAME, Status.NOT_APPLICABLE, None, "no gold calls")
    scores: list[float] = []
    rows: list[tuple[str, tuple[int, dict[str, Any], list[str], list[str]] | None, int, int]] = []
    perfect = True  # every gold call matched by a call with every argument equal and nothing extra
    for tool, gold in gold_calls:
        size = len(gold)
        # The first call of the tool with the most matched, then fewest mismatched, arguments; a call
        # matching every argument cannot be beaten, so the search stops there.
        best = best_key = None
        for name, args in agent_calls:
            if name != tool:
                continue
            result = _compare(gold, args)
            if not result[1] and result[0] == size:
                best = result
                break
            key = (result[0], -len(result[1]))
            if best_key is None or key > best_key:
                best, best_key = result, key
        if best is None:
            scores.append(0.0)
            rows.append((tool, None, size, 0))
            perfect = False
            continue
        matched, mismatches, _, extra = best
        unset = 0  # gold arguments given as null count as matched, but not as wanted
        for value in gold.values():
            if value is None:
                unset += 1
        scores.append(matched / size if size else 1.0)
        rows.append((tool, best, size, unset))
        if perfect and (mismatches or extra or matched != size):
            perfect = False
    if perfect:
        # The common verdict (every call exact) depends only on the tools and argument counts: built
        # once, shared (components are immutable), handed out as fresh copies by to_dict().
        key = tuple([(tool, size, unset) for tool, _, size, unset in rows])
        component = _PERFECT.get(key)
        if component is None:
            if len(_PERFECT) >= _PERFECT_MAX:
                _PERFECT.clear()
            component = _PERFECT[key] = _component(scores, rows, True)
        return component
    return _component(scores, rows, False)


def _component(
    scores: list[float],
    rows: list[tuple[str, tuple[int, dict[str, Any], list[str], list[str]] | None, int, int]],
    share: bool,
) -> Component:
    report: list[dict[str, Any]] = []
    case_mismatches: list[str] = []
    for tool, best, size, unset in rows:
        if best is None:
            report.append({"tool": tool, "called": False})
            continue
        matched, mismatches, case, extra = best
        report.append({"tool": tool, "called": True, "matched": matched - unset, "of": size - unset,
                       "mismatches": mismatches, "extra": extra})
        if case:
            case_mismatches += [f"{tool}.{name}" for name in case]
    score = sum(scores) / len(scores)
    exact = sum(1 for s in scores if s == 1.0)
    rationale = f"{exact} of {len(scores)} gold call(s) matched exactly"
    if case_mismatches:
        rationale += f"; letter-case mismatches: {', '.join(case_mismatches)}"
    details = {"calls": report, "case_mismatches": case_mismatches}
    if share:
        return shared(NAME, Status.DIAGNOSTIC, round(score, 4), rationale, details)
    return Component(NAME, Status.DIAGNOSTIC, round(score, 4), rationale, details)


_PERFECT: dict[tuple[tuple[str, int, int], ...], Component] = {}
_PERFECT_MAX = 4096
