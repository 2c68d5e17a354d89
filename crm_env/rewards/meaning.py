"""The reply checked by meaning: its claims (``crm_env.rewards.claims``) against what is true in the episode
(``crm_env.rewards.world``) and what the turn asked for.

A reply **fails** when it
- claims the wrong outcome: that the work failed although it was carried out (or succeeded although the
  agent's work did not happen), or hedges on whether it happened ("I think it went in", "probably");
- states something false: a value (amount, percentage, date, enum value, person, e-mail, version) that no
  record in scope has, before or after the turn, and that neither the request, the tool results nor the
  CRM's rules contain; an id the CRM never produced; a count other than the true one;
- denies an expected fact ("it is not Draft"), or names, for a read request, records outside the answer set
  (beyond those the user named), or puts the turn's result on another record ("the note is on X"), or puts
  values on the wrong record (``crm_env.rewards.attribution``);
- answers a read request with a dump of what the agent has seen (``crm_env.rewards.dump``).

A reply longer than ``MAX_REPLY_CHARS`` fails unread (a dump). It is **undecided** when nothing it says is false but an expected fact is not affirmed in any form the
checker reads (the judge may decide; without one, undecided counts as not passed). It **passes** when every
expected fact is affirmed and nothing is contradicted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from crm_env.rewards.alternatives import offered_alternatives
from crm_env.rewards.attribution import Anchor, anchors, misattributed
from crm_env.rewards.claims import Mention, ReadReply, negated_at, read_reply
from crm_env.rewards.component import Component, failed, passed, undecided
from crm_env.rewards.dump import dump
from crm_env.rewards.holds import matches, true_of, values_of
from crm_env.rewards.lexicon import (
    ADVISED,
    CONDITIONAL,
    ENTITY_NOUNS,
    EXAMPLE_CUE,
    FAILURE_CLAIM,
    FIELD_WORDS,
    HEDGE,
    HYPOTHETICAL,
    RULE_VALUES,
    SUCCESS_CLAIM,
    UNCHANGED_REST,
)
from crm_env.rewards.scope_model import TurnScope, named_in
from crm_env.rewards.world import ENUM_OF_VALUE, World, display_name, loose
from crm_env.schema.enums import Entity
from crm_env.schema.types import MAX_AMOUNT

NAME = "reply"
# Longer replies fail unread: the longest listing an answer needs is a few thousand characters, and reading
# a megabyte of text for claims would stall the env.
MAX_REPLY_CHARS = 20_000
COUNT_LABELS: dict[str, Entity | None] = {"total": None, "count": Entity.OPPORTUNITY, "quotes": Entity.QUOTE,
                                          "quotes_deleted": Entity.QUOTE}
_AMBIGUOUS = frozenset({"sent", "approved", "rejected", "canceled", "draft", "active", "pending", "expired",
                        "proposal", "prospect", "partner", "vendor", "competitor", "negotiation", "qualification",
                        "prospecting", "quote", "contract", "client", "opportunity"})
_ENUM_CUES_BEFORE = frozenset({"in", "at", "to", "as", "is", "are", "now", "status", "stage", "currently", "still",
                               "marked", "its", "it's", "into", "from", "back", "stays", "remains", "stage:",
                               "status:"})
_ENUM_CUES_AFTER = frozenset({"status", "stage", "quote", "quotes", "deal", "deals", "opportunity", "opportunities",
                              "client", "clients", "account", "accounts", "contract", "contracts", "state"})
_PARTICIPLES = frozenset({"sent", "approved", "rejected", "canceled", "expired"})


def check_reply(reply: str, scope: TurnScope) -> Component:
    """The reply component (see the module docstring)."""
    if not reply.strip():
        return failed(NAME, "no reply was given")
    if len(reply) > MAX_REPLY_CHARS:
        return failed(NAME, f"the reply is {len(reply):,} characters, more than any answer needs "
                            f"({MAX_REPLY_CHARS:,}): a dump is not an answer")
    read = read_reply(reply, scope.world.vocabulary())
    problems = _problems(read, scope)
    if problems:
        return failed(NAME, "; ".join(problems[:3]), claims=problems)
    missing = _missing(read, scope)
    if missing:
        return undecided(NAME, f"the reply does not affirm: {', '.join(missing)}", missing=missing)
    if not scope.facts:
        # a read with nothing to report may say so in any words it has claims for ("no quote prefixes")
        if scope.expect_success and not _claims_success(read) and not (scope.answer is not None and read.mentions):
            return undecided(NAME, "no facts to state, and the reply makes no claim about the work that I can read")
        return passed(NAME, "no expected facts; nothing the reply says is contradicted")
    return passed(NAME, f"affirms all {len(scope.facts)} fact(s); nothing it says is contradicted")


# ---------------------------------------------------------------------------------------------- failures
def _problems(read: ReadReply, scope: TurnScope) -> list[str]:
    problems: list[str] = []
    hedge = hedged(read)
    if hedge:
        problems.append(f"hedges on the outcome ({hedge.group()!r})")
    if scope.expect_success:
        failure = _failure_claim(read, scope)
        if scope.work_done and failure:
            problems.append(f"says the work was not done ({failure!r}), but it was")
        elif not scope.work_done and not failure and _claims_success(read):
            problems.append("claims the work was done, but it was not")
    utterance = loose(scope.utterance)
    world = scope.world
    mentioned = {m.value for m in read.of_kind("record")}
    allowed = world.neighbours(scope.targets | (scope.answer or set()) | mentioned)
    strict = None
    if scope.answer is None and (scope.targets or scope.named):
        strict = set()
        for rid in scope.targets | scope.named:
            strict |= {rid} | world.ancestors(rid) | world.children(rid)
    hypothetical = {i for i, (a, b) in enumerate(read.segments) if HYPOTHETICAL.search(read.norm[a:b])}
    for mention in read.mentions:
        if mention.segment in hypothetical and mention.kind != "id":
            continue
        if mention.kind == "enum" and _after_rule(read, mention):
            continue
        in_scope = allowed
        if strict is not None and all(r.value in strict for r in read.of_kind("record") if r.segment == mention.segment):
            in_scope = strict  # a sentence about the turn's own records: its values must be theirs
        problem = _false_claim(mention, read, scope, in_scope, utterance)
        if problem:
            problems.append(problem)
    problems += dump(read, scope)
    problems += offered_alternatives(read)
    named = anchors(read, world)  # the records the reply names, shared by the two checks below
    problems += misattributed(read, world, scope.targets, scope.request(), named)
    problems += _other_filter(read, scope)
    problems += _other_enum_value(read, scope, named)
    problems += _extra_records(read, scope)
    problems += _misplaced_facts(read, scope)
    problems += _prefix_claims(read, scope)
    return problems


def hedged(read: ReadReply) -> re.Match[str] | None:
    """The first hedge on the outcome, outside questions and advice (``lexicon.CONDITIONAL``, ``ADVISED``)."""
    for a, b in read.segments:
        if read.norm[a:b].rstrip().endswith("?") or CONDITIONAL.match(read.norm[a:b]):
            continue
        for hedge in HEDGE.finditer(read.norm, a, b):
            if not ADVISED.search(read.norm[max(a, hedge.start() - 12):hedge.start()]):
                return hedge
    return None


def _after_rule(read: ReadReply, m: Mention) -> bool:
    """Whether an enum value is one a stated rule lists (after "the accepted values are" in its sentence)."""
    start = read.segments[m.segment][0]
    return RULE_VALUES.search(read.norm, start, m.start) is not None


def _failure_claim(read: ReadReply, scope: TurnScope) -> str | None:
    statuses = None
    for match in FAILURE_CLAIM.finditer(read.norm):
        if UNCHANGED_REST.search(read.norm[max(0, match.start() - 40):match.start()]):
            continue
        word = match.group().split()[-1]
        if word in _PARTICIPLES:  # "the other quote was rejected": a record's status, when one in scope has it
            if statuses is None:
                near = scope.world.neighbours(scope.world.neighbours(scope.targets))  # siblings too
                statuses = {loose(str(r.get("status", ""))) for rid in near for r in scope.world.versions(rid)}
            if word in statuses:
                continue
        return match.group()
    return None


def _claims_success(read: ReadReply) -> bool:
    return SUCCESS_CLAIM.search(read.norm) is not None or any(m.kind in ("record", "number", "date") for m in read.mentions)


def _false_claim(m: Mention, read: ReadReply, scope: TurnScope, allowed: set[str], utterance: str) -> str | None:
    world = scope.world
    if m.kind == "id":
        known = m.value in world.records or m.value in scope.utterance.lower() or \
            loose(m.value) in {loose(p) for p in _prefixes(world)} or \
            EXAMPLE_CUE.search(read.norm[max(0, m.start - 20):m.start]) is not None
        return None if known else f"gives the id {m.value!r}, which the CRM never produced"
    if m.kind == "count":
        return _false_count(m, read, scope)
    if m.kind in ("number", "percent", "date", "version", "enum", "person", "email"):
        if m.kind == "enum" and not _enum_claim(m, read):
            return None
        truth = _true_somewhere(m, scope, allowed, utterance)
        if m.negated and scope.expect_success:
            if truth and _true_in_scope(m, read, scope):
                return f"denies {_text(m, read)!r}, which is true"
            return None
        if not truth:
            return f"states {_text(m, read)!r}, which no record in scope has"
    return None


def _text(m: Mention, read: ReadReply) -> str:
    return read.text[m.start:m.end].strip()


def _enum_claim(m: Mention, read: ReadReply) -> bool:
    """Whether an enum word is used as a value: written as the CRM writes it, or a common word in a
    status position ("in proposal", "draft status"), not the verb ("the request was rejected")."""
    original = read.text[m.start:m.end]
    word = m.value.lower()
    if original == m.value and not (word in _PARTICIPLES and _previous(read, m.start) in ("was", "were", "been", "got")):
        return True
    if word not in _AMBIGUOUS:
        return True
    before, after = _previous(read, m.start), _next(read, m.end)
    if word in _PARTICIPLES:  # "marked as sent", "sent status"; never "the request is rejected"
        return before in ("status", "as", "marked") or after in ("status", "quote", "quotes")
    return before in _ENUM_CUES_BEFORE or after in _ENUM_CUES_AFTER


def _previous(read: ReadReply, start: int) -> str:
    words = read.norm[max(0, start - 20):start].split()
    return words[-1] if words else ""


def _next(read: ReadReply, end: int) -> str:
    words = read.norm[end:end + 20].split()
    return words[0].strip(".,;:") if words else ""


def _prefixes(world: World) -> set[str]:
    return {r["quote_prefix"] for _, r in world.records.values() if r.get("quote_prefix")}


def _true_somewhere(m: Mention, scope: TurnScope, allowed: set[str], utterance: str) -> bool:
    if true_of(m, scope.world, allowed):
        return True
    if any(matches(m, value) for _, value in scope.facts):
        return True
    numbers, dates = scope.result_values
    if m.kind in ("number", "percent"):
        if any(matches(m, n) for n in numbers) or any(matches(m, n) for n in _utterance_numbers(scope.utterance)):
            return True
        if any(matches(m, c) for c in (0, 100, MAX_AMOUNT)):
            return True
        # a difference or a sum of two amounts the agent was shown ("they are $498,000 apart")
        known = sorted({*numbers, *(v for rid in allowed for r in scope.world.versions(rid)
                                    for v in values_of(m, r) if isinstance(v, int | float))})
        return any(matches(m, a + b) or matches(m, abs(a - b)) for i, a in enumerate(known) for b in known[i + 1:])
    if m.kind == "date":
        return any(matches(m, d) for d in (*dates, scope.today, *_utterance_dates(scope.utterance)))
    if m.kind == "enum" and loose(str(m.value)) in scope.result_keys:
        return True
    if m.kind in ("enum", "person", "version"):
        return loose(str(m.value)) in utterance
    if m.kind == "email":
        return m.value in scope.utterance.lower()
    return False


def _true_in_scope(m: Mention, read: ReadReply, scope: TurnScope) -> bool:
    """Whether a denied value is what the record the sentence is about has after the turn."""
    world = scope.world
    around = {r.value for r in read.of_kind("record") if r.segment == m.segment}
    ids = around or scope.targets | (scope.answer or set())
    return any(matches(m, v) for rid in ids if world.get(rid) is not None for v in values_of(m, world.get(rid)))


def _false_count(m: Mention, read: ReadReply, scope: TurnScope) -> str | None:
    """A count of what a count fact counts that differs from it, when the true count is stated nowhere
    ("the four quotes on file" beside "no quotes are Approved" is context, not the answer)."""
    if m.negated:
        return None
    for label, value in scope.facts:
        if label not in COUNT_LABELS or not isinstance(value, int | float) or isinstance(value, bool):
            continue
        counted = COUNT_LABELS[label] or scope.answer_entity
        if m.entity is not counted and not (m.entity is None and label == "total"):
            continue
        if int(value) == m.value:
            continue
        if any(c.kind == "count" and c.value == value and c.entity in (None, counted) for c in read.mentions):
            continue
        noun = counted.value.lower() if counted else "record"
        return f"says there are {m.value} {noun}(s); there are {int(value)}"
    return None


def _other_filter(read: ReadReply, scope: TurnScope) -> list[str]:
    """A read filtered by an enum value ("deals in Negotiation") whose result is stated under another value
    of that enum ("There is 1 opportunity in Closed-Won"), which no record of the answer has."""
    if not scope.filters:
        return []
    kinds = {ENUM_OF_VALUE[f] for f in scope.filters}
    answer = scope.answer or set()
    counts = {v for label, v in scope.facts if label in COUNT_LABELS}
    # the sentences that state the result (a count equal to the answer's): context elsewhere may name others
    result = {m.segment for m in read.of_kind("count") if m.value in counts and not m.negated}
    out = []
    for m in read.of_kind("enum"):  # either polarity: "no quotes with status Rejected" states a result too
        if m.segment not in result or m.value in scope.filters or ENUM_OF_VALUE.get(m.value) not in kinds \
                or not _enum_claim(m, read) or _after_rule(read, m):
            continue
        if not true_of(m, scope.world, answer):
            out.append(f"says {_text(m, read)!r}; the request asked for {' / '.join(sorted(scope.filters))}")
    return out


def _other_enum_value(read: ReadReply, scope: TurnScope, named: Sequence[Anchor]) -> list[str]:
    """An expected enum fact ("status": "Approved") contradicted: another value of that enum affirmed in a
    sentence where no record named holds it, no record of the turn ever had it and the request did not ask for
    it ("That is the SALES quote: $74,500, with status Rejected" when it is Approved)."""
    expected = {ENUM_OF_VALUE[v]: v for _, v in scope.facts if isinstance(v, str) and v in ENUM_OF_VALUE}
    if not expected:
        return []
    hypothetical = {i for i, (a, b) in enumerate(read.segments) if HYPOTHETICAL.search(read.norm[a:b])}
    asked = {m.value for m in scope.request().of_kind("enum")}  # restating the request is no claim
    out = []
    for m in read.of_kind("enum"):
        kind = ENUM_OF_VALUE.get(m.value)
        if kind not in expected or m.value == expected[kind] or m.value in asked or m.negated \
                or m.segment in hypothetical \
                or not _enum_claim(m, read) or _after_rule(read, m) or true_of(m, scope.world, scope.targets):
            continue
        if any(a.segment == m.segment and true_of(m, scope.world, {a.rid}) for a in named):
            continue
        out.append(f"says {_text(m, read)!r}; it is {expected[kind]}")
    return out


def _extra_records(read: ReadReply, scope: TurnScope) -> list[str]:
    if scope.answer is None or scope.answer_entity is None:
        return []
    world = scope.world
    named = named_in(scope)
    context = set()
    for rid in scope.answer:
        context |= world.ancestors(rid)
    out = []
    for m in read.of_kind("record"):
        entity = world.entity(m.value)
        if entity is scope.answer_entity and m.value not in scope.answer and m.value not in named \
                and m.value not in context and not m.negated:
            out.append(f"names {_text(m, read)!r}, which is not in the answer")
    return out


def _misplaced_facts(read: ReadReply, scope: TurnScope) -> list[str]:
    """A write turn's result stated only on another record ("the note is on X")."""
    if scope.answer is not None or not scope.targets:
        return []
    world = scope.world
    fine = set(scope.targets)
    for rid in scope.targets:
        fine |= world.ancestors(rid)
    fine |= named_in(scope)
    records = read.of_kind("record")
    out = []
    for label, value in scope.facts:
        places = []
        for m in read.mentions:
            if m.negated or not _states(m, value, read):
                continue
            same = [r for r in records if r.segment == m.segment and not (r.start <= m.start < r.end)]
            nearest = min(same, key=lambda r: abs(r.start - m.start)) if same else None
            places.append((m, nearest))
        wrong = [(m, r) for m, r in places if r is not None and r.value not in fine and world.entity(r.value) in
                 (Entity.OPPORTUNITY, Entity.CLIENT, Entity.CONTACT, Entity.COMPANY)]
        if places and len(wrong) == len(places):
            m, r = wrong[0]
            out.append(f"puts {_text(m, read)!r} on {_text(r, read)!r}, which the request did not touch")
    return out


def _states(m: Mention, value: Any, read: ReadReply) -> bool:
    """Whether a mention states a fact's value."""
    if m.kind in ("number", "percent", "date", "version", "email"):
        return matches(m, value)
    if m.kind == "count":
        return isinstance(value, int | float) and m.value == value
    return loose(read.text[m.start:m.end]) == loose(str(value)) or matches(m, value)


def _prefix_claims(read: ReadReply, scope: TurnScope) -> list[str]:
    """For a prefix listing: every prefix named is in use, and a count beside it is its count."""
    if scope.prefix_counts is None:
        return []
    known = {loose(p): (p, n) for p, n in scope.prefix_counts.items()}
    out = []
    for match in re.finditer(r"(?<![\w-])([A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*)(?![\w-])(?:\s*\((\d+)[^)]*\))?", read.text):
        token, count = match.group(1), match.group(2)
        entry = known.get(loose(token))
        if entry is None:
            if count is not None or loose(token) in {loose(p) for p in _prefixes(scope.world)}:
                out.append(f"names the prefix {token!r}, which no quote in the answer uses")
        elif count is not None and int(count) != entry[1]:
            out.append(f"says {entry[0]} is used {count} time(s); it is used {entry[1]}")
    return out


# ---------------------------------------------------------------------------------------------- recall
def _missing(read: ReadReply, scope: TurnScope) -> list[str]:
    missing = [label for label, value in scope.facts if not _affirmed(label, value, read, scope)]
    if scope.listing and scope.answer is not None and scope.answer_entity is not None and len(scope.answer) <= 10:
        named = {m.value for m in read.of_kind("record") if not m.negated}
        unnamed = [rid for rid in scope.answer if display_name(scope.answer_entity, scope.world.get(rid) or {})
                   and rid not in named and scope.world.entity(rid) is scope.answer_entity]
        if unnamed:
            missing.append(f"{len(unnamed)} of the {len(scope.answer)} record(s) in the answer")
    return missing


def _affirmed(label: str, value: Any, read: ReadReply, scope: TurnScope) -> bool:
    if label == "rejected_value":
        return True  # a refusal is judged by its reason (crm_env.rewards.refusal), not by echoing the value
    affirmed = [m for m in read.mentions if not m.negated]
    if label in COUNT_LABELS and isinstance(value, int | float):
        counted = COUNT_LABELS[label] or scope.answer_entity
        if any(m.kind == "count" and m.value == value and m.entity in (None, counted) for m in affirmed):
            return True
        if label == "total" and scope.answer is not None and len(scope.answer) == value and value > 0:
            named = {m.value for m in affirmed if m.kind == "record"}
            if scope.answer <= named:
                return True
        return _plain_number(read, value)
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return any(m.kind in ("number", "percent") and abs(m.value - value) < 0.005 for m in affirmed) or \
            _plain_number(read, value)
    text = str(value)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return any(m.kind == "date" and any(v == text or v == (int(text[5:7]), int(text[8:10])) for v in m.value)
                   for m in affirmed)
    if label == "differs":
        words = FIELD_WORDS.get(text, (text.replace("_", " "),))
        return any(re.search(rf"\b{re.escape(w)}", read.norm) for w in words)
    if label == "entity_type":
        nouns = [n for n, e in ENTITY_NOUNS.items() if e.value == text] + [text.lower()]
        return any(re.search(rf"\b{re.escape(n)}\b", read.loose) for n in nouns)
    needle = loose(text)
    if not needle:
        return True
    position = read.loose.find(needle)
    while position >= 0:
        if not any(m.negated and m.start <= position < m.end for m in read.mentions) and not _denied(read, position):
            return True
        position = read.loose.find(needle, position + 1)
    if label == "content":  # a note's text, paraphrased lightly: most of its words, in a clause not denied
        words = set(re.findall(r"\w+", needle))
        found = [m for m in re.finditer(r"\w+", read.loose) if m.group() in words and not _denied(read, m.start())]
        return len({m.group() for m in found}) >= 0.8 * len(words)
    return False


def _plain_number(read: ReadReply, value: float) -> bool:
    """A whole number written as digits or a word, where nothing else claims those characters."""
    if value != int(value):
        return False
    words = {w for w, n in _NUMBER_WORDS_BY_VALUE.get(int(value), ())}
    for match in re.finditer(r"(?<![\w$.,])(\d+)(?![\w.,]*\d)", read.norm):
        if int(match.group(1)) == value and not any(m.start <= match.start() < m.end for m in read.mentions) \
                and not _denied(read, match.start()):
            return True
    counts = [m for m in read.mentions if m.kind == "count"]  # "one note" counts notes, not what the fact counts
    return any(not any(c.start <= match.start() < c.end for c in counts) and not _denied(read, match.start())
               for w in words for match in re.finditer(rf"\b{re.escape(w)}\b", read.norm))


def _denied(read: ReadReply, position: int) -> bool:
    """Whether text found at ``position`` (outside any mention) stands in a denied clause ("it is not 80")."""
    return negated_at(read.norm, position, read.segments[read.segment_of(position)][0])


def _number_words() -> dict[int, tuple[tuple[str, int], ...]]:
    from crm_env.rewards.lexicon import COUNT_ONLY_WORDS, NUMBER_WORDS

    table: dict[int, list[tuple[str, int]]] = {}
    for word, number in NUMBER_WORDS.items():
        if word not in COUNT_ONLY_WORDS:
            table.setdefault(number, []).append((word, number))
    return {k: tuple(v) for k, v in table.items()}


_NUMBER_WORDS_BY_VALUE = _number_words()


def _utterance_numbers(utterance: str) -> list[float]:
    return [float(n.replace(",", "")) for n in re.findall(r"\d[\d,]*(?:\.\d+)?", utterance)]


def _utterance_dates(utterance: str) -> list[str]:
    return re.findall(r"\d{4}-\d{2}-\d{2}", utterance)
