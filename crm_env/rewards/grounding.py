"""Retrieval by grounding: what a read turn's answer needs must have reached the agent in this episode.

*Records*: every record the gold reads answer with (the record viewed, a search's results; never a foreign
key, nor the client or quotes shown beside a deal) must have come back to the agent as a record in some successful
result of the episode (any read tool, any earlier turn).
An id seen only as a foreign key ("opportunity_id" on a quote) is not the opportunity.

*Figures*: a read whose gold results hold no record (a summary, an empty search, a prefix list) passes
when every number among the turn's facts was shown to the agent or follows from a list of records it was
shown: a count, a sum of amounts, the probability-weighted sum or the mean, over the whole list or over
its records with one stage or status (``aggregates``, ``GROUPING_FIELDS``). So "how many deals, and worth how much?" answered
from ``opportunity_search`` instead of ``summarize_opportunities`` passes; a figure the agent never saw
fails, named in the rationale. A read with neither records nor figures (an empty prefix list) needs one of
the gold tools called successfully in the turn.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from crm_env.rewards.component import Component, failed, passed
from crm_env.rewards.world import mappings, primary_id
from crm_env.sandbox import ToolResult

NAME = "retrieval"
GROUPING_FIELDS = ("stage", "status")  # a list's records grouped by these before aggregating


@dataclass
class Seen:
    """What the agent's successful results showed in this episode: records by own id, numbers, and the
    lists of records (a search's ``results``) that figures may be computed from."""

    ids: set[str] = field(default_factory=set)
    numbers: set[float] = field(default_factory=set)
    lists: list[list[Mapping[str, Any]]] = field(default_factory=list)

    def add(self, data: Any) -> None:
        """Take in one successful result's data."""
        for value in mappings(data):
            own = primary_id(value)
            if own is not None:
                self.ids.add(own[1])
            self.numbers.update(float(v) for v in value.values() if isinstance(v, int | float) and not isinstance(v, bool))
            rows = value.get("results")
            if isinstance(rows, list):
                self.lists.append([r for r in rows if isinstance(r, Mapping)])


def answer_ids(results: Iterable[ToolResult]) -> set[str]:
    """The records successful gold reads answer with: each result's own record, or the record a view is
    about (the deal viewed, not its client or quotes), and the records of a search's ``results``."""
    ids = set()
    for result in results:
        if not result.ok or not isinstance(result.data, Mapping):
            continue
        own = primary_id(result.data)
        if own is not None:
            ids.add(own[1])
        else:  # a view, {"opportunity": {...}, "client": {...}, "quotes": [...]}: the record it is about (first)
            own = next((o for o in map(primary_id, result.data.values()) if o is not None), None)
            if own is not None:
                ids.add(own[1])
        rows = result.data.get("results")
        if isinstance(rows, list):
            ids |= {own[1] for own in map(primary_id, rows) if own is not None}
    return ids


def aggregates(rows: Sequence[Mapping[str, Any]]) -> set[float]:
    """The figures a list of records gives: count, total and mean amount, probability-weighted total."""
    amounts = [float(r["amount"]) for r in rows if isinstance(r.get("amount"), int | float)]
    out = {float(len(rows))}
    if amounts:
        out |= {round(sum(amounts), 2), round(sum(amounts) / len(amounts), 2)}
    weighted = [float(r["amount"]) * float(r["probability"]) / 100 for r in rows
                if isinstance(r.get("amount"), int | float) and isinstance(r.get("probability"), int | float)]
    if weighted:
        out.add(round(sum(weighted), 2))
    return out



def derivable(seen: Seen) -> set[float]:
    """Every figure the agent could state from what it was shown."""
    figures = set(seen.numbers)
    for rows in seen.lists:
        figures |= aggregates(rows)
        for name in GROUPING_FIELDS:
            groups: dict[Any, list[Mapping[str, Any]]] = {}
            for row in rows:
                if name in row:
                    groups.setdefault(row[name], []).append(row)
            for group in groups.values():
                figures |= aggregates(group)
    return figures


def validate_grounding(gold_results: Sequence[ToolResult], seen: Seen, facts: Sequence[tuple[str, Any]],
                       turn_results: Iterable[ToolResult] = (), expected: set[str] | None = None) -> Component:
    """The retrieval component of a read turn (see the module docstring).

    Args:
        gold_results: The gold calls' results on the pre-turn state.
        seen: What the agent's successful results showed in the episode so far (this turn's included).
        facts: The turn's reply facts (label, value), references resolved.
        turn_results: The agent's results in this turn (a read with no figure to check must be made).
        expected: ``answer_ids(gold_results)`` when the caller has it already.
    """
    if expected is None:
        expected = answer_ids(gold_results)
    if expected:
        missing = expected - seen.ids
        if missing:
            return failed(NAME, f"{len(missing)} of {len(expected)} record(s) the answer needs never came back to "
                                "the agent as records", missing=sorted(missing))
        return passed(NAME, f"all {len(expected)} record(s) the answer needs were retrieved")
    figures = [(label, float(v)) for label, v in facts if isinstance(v, int | float) and not isinstance(v, bool)]
    if not figures:  # nothing to compute (an empty prefix list): the read itself must have been made
        tools = {r.tool for r in gold_results}
        if any(r.ok and r.tool in tools for r in turn_results):
            return passed(NAME, f"called {'/'.join(sorted(tools))} as the request needs")
        return failed(NAME, f"never called {' or '.join(sorted(tools))} successfully in this turn")
    known = derivable(seen)
    unknown = [label for label, value in figures if not any(abs(value - k) <= 0.01 for k in known)]
    if unknown:
        return failed(NAME, f"never shown, nor computable from what was: {', '.join(unknown)}", missing=unknown)
    return passed(NAME, f"the {len(figures)} figure(s) the answer needs were shown or follow from what was")
