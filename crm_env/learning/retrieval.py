"""Which playbook entries a turn gets: those whose cue matches the user's request text, ranked, under a
token budget.

Only the request text is read (the student's view of the turn; never dataset labels such as intent or
workflow). A cue matches when one of its keywords occurs as whole words (case-insensitive; a keyword of
several words as that phrase) or its regex is found; ``entities`` narrow it to requests that name one of
those record types in words ("deal", "quote", ...). Ranking: more distinct keywords matched first, then
more successes with the entry, then more evidence, then the id (deterministic). Entries are taken in rank
order until the next one's instruction does not fit ``budget_tokens`` (``estimate_tokens``); matched
entries left out are returned too (in rank order), because the impact counters compare turns with and
without an entry.

Keywords are indexed by their first word, so a turn costs a lookup per word of the request plus the
entries that use a regex.
"""

from __future__ import annotations

import heapq
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from crm_env.learning.entries import Entry, Lifecycle
from crm_env.rewards.lexicon import ENTITY_NOUNS

DEFAULT_BUDGET_TOKENS = 300
CHARS_PER_TOKEN = 4  # a conservative estimate for English instructions
_WORDS = re.compile(r"\w+")


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


@dataclass(frozen=True)
class Selection:
    """A turn's retrieval: what is injected (in rank order) and what matched but did not fit."""

    injected: tuple[Entry, ...]
    matched_not_injected: tuple[Entry, ...]

    @property
    def tokens(self) -> int:
        return sum(estimate_tokens(e.instruction) for e in self.injected)


class Retriever:
    """An index over entries for one audience (built once per memory version).

    Args:
        entries: The memory's entries.
        audience: ``"student"`` or ``"teacher"``.
        statuses: The lifecycle states that may be injected (active only, by default).
    """

    def __init__(self, entries: Iterable[Entry], audience: str = "student",
                 statuses: frozenset[Lifecycle] = frozenset({Lifecycle.ACTIVE})) -> None:
        self._by_first_word: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        self._regex: list[tuple[re.Pattern[str], str]] = []
        self._entries: dict[str, Entry] = {}
        self._rank: dict[str, tuple[int, int, str]] = {}  # the static part of the ranking
        for entry in entries:
            if entry.audience != audience or entry.status not in statuses:
                continue
            self._entries[entry.id] = entry
            self._rank[entry.id] = (-entry.impact.success_with, -len(entry.evidence), entry.id)
            for keyword in entry.cue.keywords:
                words = tuple(w.lower() for w in _WORDS.findall(keyword))
                if words:
                    self._by_first_word.setdefault(words[0], []).append((words, entry.id))
            if entry.cue.regex is not None:
                self._regex.append((re.compile(entry.cue.regex, re.IGNORECASE), entry.id))
        self._cost = {rid: estimate_tokens(e.instruction) for rid, e in self._entries.items()}

    def select(self, request: str, budget_tokens: int = DEFAULT_BUDGET_TOKENS) -> Selection:
        """The entries for a turn whose user message is ``request`` (see the module docstring)."""
        words = [w.lower() for w in _WORDS.findall(request)]
        found: set[tuple[str, tuple[str, ...]]] = set()  # (entry id, keyword matched)
        for i, word in enumerate(words):
            for phrase, rid in self._by_first_word.get(word, ()):
                if len(phrase) == 1 or tuple(words[i:i + len(phrase)]) == phrase:
                    found.add((rid, phrase))
        for pattern, rid in self._regex:
            if pattern.search(request):
                found.add((rid, ("/regex/",)))
        hits: dict[str, int] = {}
        for rid, _ in found:
            hits[rid] = hits.get(rid, 0) + 1
        named = {ENTITY_NOUNS[w].value for w in words if w in ENTITY_NOUNS}
        entries = self._entries
        heap = [(-count, *self._rank[rid]) for rid, count in hits.items()
                if not entries[rid].cue.entities or named & set(entries[rid].cue.entities)]
        heapq.heapify(heap)
        injected: list[Entry] = []
        spent = 0
        while heap:
            rid = heap[0][-1]
            cost = self._cost[rid]
            if spent + cost > budget_tokens:
                break
            heapq.heappop(heap)
            injected.append(entries[rid])
            spent += cost
        left = tuple(entries[item[-1]] for item in sorted(heap))
        return Selection(tuple(injected), left)
