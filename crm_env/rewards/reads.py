"""Read validator and reply facts: the agent retrieved the expected records and its reply states their facts.

*Retrieved*: every record id (a UUID under a key ending in ``_id``) in the gold calls' results must appear
somewhere in the results of the agent's successful calls in this episode so far (earlier turns count: an
agent may answer from what it already fetched). When the gold results hold no ids (an empty search, a
summary, a prefix list), the agent must have called one of the gold tools successfully in this turn.

*Stated*: every reply fact's value appears in the reply, under the matching rules of
``crm_env.rewards.canon`` (numbers canonicalised, dates in common spellings, text case-insensitively).
A fact the reply does not state literally leaves the component *undecided* (the judge may decide it,
e.g. for "a quarter of a million"); without a judge, undecided counts as failed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from crm_env.datasets.format import ReplyFact
from crm_env.rewards.canon import Fact, Reply, compile_fact
from crm_env.rewards.component import Component, failed, not_applicable, passed, undecided
from crm_env.sandbox import ToolResult

RETRIEVAL = "retrieval"
REPLY = "reply"
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def record_ids(data: Any, into: set[str] | None = None) -> set[str]:
    """Every id (a UUID under a key ending in ``_id``) anywhere in a result."""
    found = set() if into is None else into
    add = found.add
    match = _UUID.match
    stack = [data]
    push = stack.append
    pop = stack.pop
    while stack:
        value = pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, str):
                    if key.endswith("_id") and match(item):
                        add(item)
                elif isinstance(item, _CONTAINERS):
                    push(item)
        elif isinstance(value, list):
            stack.extend(value)
    return found


_CONTAINERS = (dict, list)


def validate_retrieval(
    gold_results: Sequence[ToolResult],
    seen_ids: set[str],
    turn_results: Iterable[ToolResult],
    expected: set[str] | None = None,
) -> Component:
    """Whether the agent has seen every record the gold reads return (``expected``: those records' ids,
    ``record_ids`` of the successful gold results, when the caller has them already)."""
    if expected is None:
        expected = set()
        for result in gold_results:
            if result.ok:
                record_ids(result.data, expected)
    if not expected:
        tools = {r.tool for r in gold_results}
        if any(r.ok and r.tool in tools for r in turn_results):
            return passed(RETRIEVAL, f"called {'/'.join(sorted(tools))} as the request needs")
        return failed(RETRIEVAL, f"never called {' or '.join(sorted(tools))} successfully in this turn")
    missing = expected - seen_ids
    if missing:
        return failed(
            RETRIEVAL, f"{len(missing)} of {len(expected)} expected record(s) never retrieved", missing=sorted(missing)
        )
    return passed(RETRIEVAL, f"all {len(expected)} expected record(s) retrieved")


def validate_facts(facts: Sequence[ReplyFact], reply: str, values: Sequence[Any] | None = None) -> Component:
    """Whether the reply states every fact (``values`` overrides the facts' values, e.g. once resolved)."""
    if not facts:
        return _NO_FACTS
    if values is None:
        compiled = tuple([compile_fact(f.value) for f in facts])
    elif len(values) != len(facts):
        raise ValueError(f"{len(values)} fact values for {len(facts)} facts")
    else:
        compiled = tuple([compile_fact(v) for v in values])
    # Which facts a reply states is a pure function of the reply and the compiled facts (shared per
    # value by compile_fact, so identity stands for the value): replayed replies are checked once.
    key = (reply, compiled)
    flags = _STATED.get(key)
    if flags is None:
        text = Reply(reply)  # canonicalised once for all the facts
        flags = tuple([fact.stated(text) for fact in compiled])
        if len(_STATED) >= _STATED_MAX:
            _STATED.clear()
        _STATED[key] = flags
    if False not in flags:
        count = len(facts)
        component = _ALL_STATED.get(count)
        if component is None:
            component = _ALL_STATED[count] = passed(REPLY, f"reply states all {count} fact(s)")
        return component
    missing = [f.label for f, ok in zip(facts, flags) if not ok]
    if not reply.strip():
        return failed(REPLY, "no reply was given", missing=missing)
    return undecided(REPLY, f"reply does not literally state: {', '.join(missing)}", missing=missing)


_STATED: dict[tuple[str, tuple[Fact, ...]], tuple[bool, ...]] = {}
_STATED_MAX = 4096
_ALL_STATED: dict[int, Component] = {}  # per number of facts (detail-free components are immutable)
_NO_FACTS = not_applicable(REPLY, "no facts to state")  # components are immutable: built once
