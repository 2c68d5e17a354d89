"""The continual-learning loop's costs. Today: playbook retrieval per turn at 10,000 active entries.

Entries get two or three cue keywords drawn from the words of eval-400's requests (so cues really match),
one in a hundred a regex; the requests are eval-400's user messages (fixture conversations without the
packaged data).
"""

from __future__ import annotations

import random
import time

from benchmarks.timing import Figure
from crm_env.learning.entries import Cue, Entry, Lifecycle
from crm_env.learning.retrieval import Retriever

ENTRIES = 10_000


def _requests() -> list[str]:
    try:
        from crm_env import datasets

        conversations = datasets.load("arc-crm-1200", split="eval-400")
    except Exception:
        from tests.envs.fixture_conversations import conversations as fixture

        conversations = fixture()
    return [turn.utterance for conversation in conversations for turn in conversation.turns]


def _entries(words: list[str], rng: random.Random) -> list[Entry]:
    out = []
    for n in range(ENTRIES):
        cue = Cue(regex=rf"\b{rng.choice(words)}\b") if n % 100 == 0 else Cue(keywords=tuple(rng.sample(words, 3)))
        out.append(Entry(cue=cue, instruction=f"Guidance number {n}: check the request before acting.",
                         expected_effect="fewer failed turns", rationale="benchmark", status=Lifecycle.ACTIVE))
    return out


def run() -> list[Figure]:
    rng = random.Random(7)
    requests = _requests()
    words = sorted({w.lower() for r in requests for w in r.split() if w.isalpha() and len(w) > 3})
    start = time.perf_counter()
    retriever = Retriever(_entries(words, rng))
    build = time.perf_counter() - start
    start = time.perf_counter()
    injected = sum(len(retriever.select(r).injected) for r in requests)
    per_turn = (time.perf_counter() - start) / len(requests)
    return [
        Figure(f"learning retrieval per turn ({ENTRIES:,} entries)", per_turn * 1e3, "ms", 1.0, higher_is_better=False),
        Figure(f"learning retrieval index build ({ENTRIES:,} entries)", build * 1e3, "ms"),
        Figure("learning entries injected per turn (budget 300 tokens)", injected / len(requests), "entries"),
    ]
