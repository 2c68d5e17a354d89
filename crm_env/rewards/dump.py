"""Dumps: a read turn answered with everything the agent has seen. A verbose answer adds a little true
context; a dump makes many claims about things the request is not about."""

from __future__ import annotations

from crm_env.rewards.claims import Mention, ReadReply
from crm_env.rewards.holds import matches, true_of
from crm_env.rewards.scope_model import TurnScope, named_in
from crm_env.rewards.world import loose

DUMP_CLAIMS = 6  # the most off-topic claims a read turn's reply may make (hand-labelled verbose replies: at most 5)

_CLAIM_KINDS = frozenset({"record", "id", "number", "percent", "date", "enum", "person", "email", "version", "title",
                          "quote_prefix", "industry", "note", "file"})


def off_topic(read: ReadReply, scope: TurnScope) -> set[tuple[str, str]]:
    """The distinct claims of a read turn's reply about nothing the request is about: not an expected fact, not
    shown by this turn's results, and not true of the answer, of the records the request names or of what
    they belong to (their ancestors: a deal's client)."""
    world = scope.world
    # the answer, not the scope's targets: for an empty answer those are every record of its type (what a
    # reply may say about them is context), which would make an episode's whole history "on topic"
    core = (scope.answer or set()) | scope.named | named_in(scope)
    for rid in list(core):
        core |= world.ancestors(rid)
    out = set()
    for m in read.mentions:
        if m.kind not in _CLAIM_KINDS or m.negated:
            continue
        if m.kind in ("record", "id"):
            if m.value in core or m.kind == "id" and m.value not in world.records:
                continue
        elif true_of(m, world, core) or any(matches(m, v) for _, v in scope.facts) or _shown(m, scope):
            continue
        out.add((m.kind, str(m.value)))
    return out


def _shown(m: Mention, scope: TurnScope) -> bool:
    """A value this turn's results showed (a summary's figures, its stage names)."""
    numbers, dates = scope.result_values
    if m.kind in ("number", "percent"):
        return any(matches(m, n) for n in numbers)
    if m.kind == "date":
        return any(matches(m, d) for d in dates)
    return m.kind == "enum" and loose(str(m.value)) in scope.result_keys


def dump(read: ReadReply, scope: TurnScope) -> list[str]:
    """A read turn answered with everything the agent has seen: more claims about other things than
    ``DUMP_CLAIMS`` (a verbose answer adds a little true context, never a page of it)."""
    if scope.answer is None:
        return []
    extra = off_topic(read, scope)
    if len(extra) <= DUMP_CLAIMS:
        return []
    return [f"makes {len(extra)} claims about things the request is not about (more than {DUMP_CLAIMS}): a dump"]
