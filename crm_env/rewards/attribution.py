"""Values put on the wrong record: "the SALES quote is $118,000" when the $118,000 quote is the other one.

A sentence's values are read as claims about the record named nearest before them in the sentence, or the
one named right after them in the same clause ("$633,000 for 8a337905"), or, when none comes before, the
nearest after: their *anchors*. Values the user's request states are left to the other checks (a refusal
restates what was asked). Records are named by name, by id, by the first
eight characters of their id ("quote 2fd2ee7c") or, for quotes, by prefix and version ("the SALES v1.1
quote"). A value fails when no anchor (with the records linked to it) holds it and
- another record named in the same sentence holds it (the values were swapped), or
- it is a field only one kind of record has (a title, an e-mail, an owner, a quote prefix, a version) and
  another record of the anchor's type holds it ("Ivan Oliveira, Head of Partnerships": that is someone
  else's title), or
- it is a record the anchor points elsewhere for ("a new contact at Bluth Labs" when the contact's client
  is Sterling Foods).
A denied link to a record the turn's record does point to ("it isn't linked to the H2 deal") fails too, and
so does one record said to be another ("b1bf288a is EST v1.0" when EST v1.0 is the other quote).
Values that hold of no record (sums, differences, counts) are the reply check's business, not this one's.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from crm_env.rewards.claims import CLAUSE_MARK, Mention, ReadReply
from crm_env.rewards.holds import true_of
from crm_env.rewards.lexicon import HYPOTHETICAL, RELATION
from crm_env.rewards.world import World
from crm_env.schema.facts import ENTITIES

# Fields one kind of record holds and that identify a record more than they describe it.
IDENTIFYING_KINDS = frozenset({"title", "person", "email", "quote_prefix", "version"})
CHECKED_KINDS = IDENTIFYING_KINDS | {"number", "percent", "date", "enum", "industry"}
_SHORT_ID = re.compile(r"(?<![\w-])[0-9a-f]{8}(?![\w-])")


@dataclass(frozen=True, slots=True)
class Anchor:
    rid: str
    start: int
    end: int
    segment: int


def anchors(read: ReadReply, world: World) -> list[Anchor]:
    """The records a reply names, where it names them."""
    found = [Anchor(m.value, m.start, m.end, m.segment) for m in read.mentions
             if m.kind == "record" or m.kind == "id" and m.value in world.records]
    taken = [(a.start, a.end) for a in found]
    for match in _SHORT_ID.finditer(read.norm):
        if any(a <= match.start() < b for a, b in taken):
            continue
        ids = [rid for rid in world.records if rid.startswith(match.group())]
        if len(ids) == 1:
            found.append(Anchor(ids[0], match.start(), match.end(), read.segment_of(match.start())))
    versions = read.of_kind("version")
    for prefix in read.of_kind("quote_prefix"):
        version = next((v for v in versions if v.segment == prefix.segment and 0 <= v.start - prefix.end <= 3), None)
        if version is None:
            continue
        ids = [rid for rid, (_, r) in world.records.items() if r.get("quote_prefix") == prefix.value
               and str(r.get("version")).rstrip("0").rstrip(".") == str(version.value).rstrip("0").rstrip(".")]
        if len(ids) == 1:
            found.append(Anchor(ids[0], prefix.start, version.end, prefix.segment))
    return sorted(found, key=lambda a: a.start)


def misattributed(read: ReadReply, world: World, targets: set[str], request: ReadReply,
                  named: Sequence[Anchor] | None = None) -> list[str]:
    """What the reply puts on the wrong record (see the module docstring); ``request``: the user's
    message read with the same vocabulary; ``named``: ``anchors(read, world)`` when the caller has it."""
    if named is None:
        named = anchors(read, world)
    if not named:
        return []
    asked = {(m.kind, str(m.value)) for m in request.mentions}
    problems = _same_as(named, read, world)
    for m in read.mentions:
        if m.negated:
            if m.kind == "record":
                problems += _denied_link(m, read, world, targets)
            continue
        if m.kind not in CHECKED_KINDS and m.kind != "record" or (m.kind, str(m.value)) in asked:
            continue
        start, end = read.segments[m.segment]
        others = [a for a in named if not (a.start == m.start and a.rid == m.value)]  # a named record is one too
        if HYPOTHETICAL.search(read.norm[start:end]) or any(a.start <= m.start < a.end for a in others):
            continue
        part = _part_start(read, m)
        same = [a for a in others if a.segment == m.segment and a.start >= part]
        candidates = _anchors_of(same, m, read)
        if not candidates:
            continue
        problem = _record_link(m, candidates[0], same, read, world) if m.kind == "record" else \
            _value(m, candidates, same, read, world)
        if problem:
            problems.append(problem)
    return problems


_PART_BREAK = re.compile(r"[;|•·]")


def _part_start(read: ReadReply, m: Mention) -> int:
    """Where the part of the sentence holding the mention starts: after the last ";" (or "|", "•") before it,
    so a new list item ("...; Pedro Ueda, Head of Partnerships") is never read against the one before."""
    start = read.segments[m.segment][0]
    for match in _PART_BREAK.finditer(read.norm, start, m.start):
        start = match.end()
    return start


_IDENTITY = re.compile(r"\s*(?:is|was|=|:|→|->)\s*")


def _same_as(named: Sequence[Anchor], read: ReadReply, world: World) -> list[str]:
    """ "b1bf288a is EST v1.0" when EST v1.0 is another quote: one record said to be another."""
    out = []
    for a, b in itertools.pairwise(named):
        if a.segment == b.segment and a.rid != b.rid and world.entity(a.rid) is world.entity(b.rid) \
                and _IDENTITY.fullmatch(read.norm, a.end, b.start):
            out.append(f"says {_text(read, a.start, a.end)!r} is {_text(read, b.start, b.end)!r}, another record")
    return out


def _anchors_of(same: Sequence[Anchor], m: Mention, read: ReadReply) -> list[Anchor]:
    """The nearest record named before the mention and the one right after it in the same clause (the
    first is the mention's anchor; ``_value`` keeps the second only when it is of the first's type)."""
    before = [a for a in same if a.end <= m.start]
    after = [a for a in same if a.start >= m.end]
    if not before:
        return after[:1]
    out = [before[-1]]
    if after and after[0].rid != out[0].rid and not CLAUSE_MARK.search(read.norm, m.end, after[0].start):
        out.append(after[0])
    return out


def _value(m: Mention, candidates: Sequence[Anchor], same: Sequence[Anchor], read: ReadReply,
           world: World) -> str | None:
    candidates = [a for a in candidates if world.entity(a.rid) is world.entity(candidates[0].rid)]
    if any(true_of(m, world, world.neighbours({a.rid})) for a in candidates):
        return None
    anchor = candidates[0]
    what, where = _text(read, m.start, m.end), _text(read, anchor.start, anchor.end)
    other = next((a for a in same if a.rid != anchor.rid and world.entity(a.rid) is world.entity(anchor.rid)
                  and true_of(m, world, {a.rid})), None)
    if other is not None:
        return f"puts {what!r} on {where!r}; it belongs to {_text(read, other.start, other.end)!r}"
    if m.kind in IDENTIFYING_KINDS:
        entity = world.entity(anchor.rid)
        holders = {rid for rid, (e, _) in world.records.items() if e is entity}
        if true_of(m, world, holders):
            return f"gives {where!r} {what!r}, which is another record's"
    return None


def _record_link(m: Mention, anchor: Anchor, same: Sequence[Anchor], read: ReadReply, world: World) -> str | None:
    """A record named beside another of a different type: the two must be linked."""
    rid, entity, anchor_entity = m.value, world.entity(m.value), world.entity(anchor.rid)
    if rid == anchor.rid or entity is None or entity is anchor_entity or _linked(world, rid, anchor.rid):
        return None
    what, where = _text(read, m.start, m.end), _text(read, anchor.start, anchor.end)
    field = ENTITIES[entity].id_field
    record = world.get(anchor.rid) or {}
    if record.get(field) and record[field] != rid:
        return f"puts {where!r} with {what!r}; it is linked to another {entity.value.lower()}"
    if any(a.rid != anchor.rid and world.entity(a.rid) is anchor_entity and _linked(world, rid, a.rid) for a in same):
        return f"puts {what!r} with {where!r}; it goes with another record named beside it"
    return None


def _linked(world: World, a: str, b: str) -> bool:
    return b in world.ancestors(a) or a in world.ancestors(b)


def _denied_link(m: Mention, read: ReadReply, world: World, targets: set[str]) -> list[str]:
    """ "It isn't linked to X" when a record of the turn points to X."""
    start = read.segments[m.segment][0]
    if not RELATION.search(read.norm, start, m.start):
        return []
    if any(world.get(t) and m.value in world.parents(t) for t in targets):
        return [f"denies the link to {_text(read, m.start, m.end)!r}, which the record has"]
    return []


def _text(read: ReadReply, start: int, end: int) -> str:
    return read.text[start:end].strip()
