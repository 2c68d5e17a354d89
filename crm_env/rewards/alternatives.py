"""Values offered as alternatives: "$1,071,500, $1,178,650 or $964,350", "on July 9 or July 10", "2 or 3".

A reply that states a value among others of the same kind joined by "or" has not said which one holds; a
reply that stuffs every candidate in this way would otherwise contain the expected value. Amounts,
percentages, dates and counts are read this way; enum values and record names are not, because "deals in
Proposal or Negotiation" names a filter, not a hedge. Questions, conditionals and denied values ("not $5
or $6") are not claims and are skipped.
"""

from __future__ import annotations

import itertools
import re

from crm_env.rewards.claims import ReadReply
from crm_env.rewards.lexicon import CONDITIONAL

KINDS = frozenset({"number", "percent", "date", "count"})
_OR = re.compile(r"\s*,?\s*(?:or|or else|or maybe|or perhaps)\s+$")
# bare numerals too ("5, 6 or 4"): the reader does not make a claim of every bare digit
_NUMERAL = r"\$?\d[\d,]*(?:\.\d+)?\s?%?"
_NUMERALS_OR = re.compile(rf"(?<![\w$.,/-])({_NUMERAL})\s*,?\s+or\s+({_NUMERAL})(?![\w/-])")


def offered_alternatives(read: ReadReply) -> list[str]:
    """One problem per segment that offers values of one kind as alternatives."""
    problems: list[str] = []
    mentions = sorted((m for m in read.mentions if m.kind in KINDS and not m.negated), key=lambda m: m.start)
    flagged: set[int] = set()
    for first, second in itertools.pairwise(mentions):
        if first.segment != second.segment or first.kind != second.kind or first.value == second.value:
            continue
        if second.segment in flagged or not _OR.match(read.norm[first.end:second.start]):
            continue
        a, b = read.segments[second.segment]
        sentence = read.norm[a:b]
        if sentence.rstrip().endswith("?") or CONDITIONAL.match(sentence):
            continue
        flagged.add(second.segment)
        problems.append(f"offers alternatives instead of an answer ({read.text[first.start:second.end]!r})")
    for match in _NUMERALS_OR.finditer(read.norm):
        segment = read.segment_of(match.start())
        a, b = read.segments[segment]
        if segment in flagged or _value(match.group(1)) == _value(match.group(2)) or \
                read.norm[a:b].rstrip().endswith("?") or CONDITIONAL.match(read.norm[a:b]):
            continue
        flagged.add(segment)
        problems.append(f"offers alternatives instead of an answer ({read.text[match.start():match.end()]!r})")
    return problems


def _value(numeral: str) -> float:
    return float(re.sub(r"[$,%\s]", "", numeral) or 0)
