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

Single-word keywords are indexed by their word and phrases by their first word, so a turn costs a lookup
per distinct word of the request plus the entries that use a regex. The static part of the ranking is one
integer per entry, worked out when the index is built, so ranking hundreds of matches is an integer sort.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from crm_env.learning.entries import Cue, Entry, Lifecycle
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


@lru_cache(maxsize=1 << 16)
def _parsed(cue: Cue) -> tuple[frozenset[tuple[str, ...]], re.Pattern[str] | None, frozenset[str]]:
    """A cue's keywords as lower-case word tuples, its compiled regex and its record types. Cached: the
    learning loop rebuilds its index after every memory change, and cues never change (they are part of
    an entry's content hash)."""
    phrases = frozenset(tuple(w.lower() for w in _WORDS.findall(k)) for k in cue.keywords) - {()}
    regex = re.compile(cue.regex, re.IGNORECASE) if cue.regex is not None else None
    return phrases, regex, frozenset(cue.entities)


class Retriever:
    """An index over entries for one audience (built once per memory version).

    Args:
        entries: The memory's entries.
        audience: ``"student"`` or ``"teacher"``.
        statuses: The lifecycle states that may be injected (active only, by default).
    """

    def __init__(self, entries: Iterable[Entry], audience: str = "student",
                 statuses: frozenset[Lifecycle] = frozenset({Lifecycle.ACTIVE})) -> None:
        by_id = {e.id: e for e in entries if e.audience == audience and e.status in statuses}
        kept = sorted(by_id.values(), key=lambda e: (-e.impact.success_with, -len(e.evidence), e.id))
        self._order: tuple[Entry, ...] = tuple(kept)  # position = the static rank
        self._by_word: dict[str, list[int]] = {}  # single-word keyword -> entry positions
        self._by_first_word: dict[str, list[tuple[tuple[str, ...], int]]] = {}  # phrases
        self._regex: list[tuple[re.Pattern[str], int]] = []
        self._entities: dict[int, frozenset[str]] = {}  # only for entries narrowed to record types
        for pos, entry in enumerate(kept):
            phrases, regex, entities = _parsed(entry.cue)
            for words in phrases:
                if len(words) == 1:
                    self._by_word.setdefault(words[0], []).append(pos)
                else:
                    self._by_first_word.setdefault(words[0], []).append((words, pos))
            if regex is not None:
                self._regex.append((regex, pos))
            if entities:
                self._entities[pos] = entities
        self._cost = [estimate_tokens(e.instruction) for e in kept]

    def select(self, request: str, budget_tokens: int = DEFAULT_BUDGET_TOKENS) -> Selection:
        """The entries for a turn whose user message is ``request`` (see the module docstring)."""
        words = [w.lower() for w in _WORDS.findall(request)]
        hits: Counter[int] = Counter()  # entry position -> distinct keywords (and its regex) matched
        for word in set(words):
            hits.update(self._by_word.get(word, ()))
        phrases: set[tuple[tuple[str, ...], int]] = set()
        for i, word in enumerate(words):
            for phrase, pos in self._by_first_word.get(word, ()):
                if tuple(words[i:i + len(phrase)]) == phrase:
                    phrases.add((phrase, pos))
        hits.update(pos for _, pos in phrases)
        hits.update(pos for pattern, pos in self._regex if pattern.search(request))
        if self._entities:
            named = {ENTITY_NOUNS[w].value for w in words if w in ENTITY_NOUNS}
            for pos in [p for p in hits if p in self._entities and not named & self._entities[p]]:
                del hits[pos]
        # rank: more keywords matched first, then the static rank (position); one integer each
        size = len(self._order)
        ranked = sorted(pos - count * size for pos, count in hits.items())
        injected: list[Entry] = []
        spent = taken = 0
        for key in ranked:
            cost = self._cost[key % size]
            if spent + cost > budget_tokens:
                break
            injected.append(self._order[key % size])
            spent += cost
            taken += 1
        left = tuple(self._order[key % size] for key in ranked[taken:])
        return Selection(tuple(injected), left)
