"""The continual-learning loop's costs: playbook retrieval per turn at 10,000 active entries, and the loop's
own overhead per turn in the coach and paired lanes (the whole ``crm-env learn run`` of ``LOOP_EPISODES`` train episodes, scripted student
and rule teacher, CRM in memory, learning memory in a SQLite file, minus the same episodes played by the
same student without the loop; medians of ``REPEATS`` interleaved runs, after a short warm-up run so that
one-time costs such as lazy imports are not counted per turn).

Entries get two or three cue keywords drawn from the words of eval-400's requests (so cues really match),
one in a hundred a regex; the requests are eval-400's user messages (fixture conversations without the
packaged data).
"""

from __future__ import annotations

import random
import statistics
import time

from benchmarks.timing import Figure
from crm_env.learning.entries import Cue, Entry, Lifecycle
from crm_env.learning.retrieval import Retriever

ENTRIES = 10_000
LOOP_EPISODES = 300
WARM_UP_EPISODES = 5
REPEATS = 3


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


def _plain_seconds(config) -> float:  # type: ignore[no-untyped-def]
    """The loop's episodes played by the same student alone, no loop, on the split freshly read (as each
    learning run reads it: the reward's per-conversation caches start cold in both)."""
    from crm_env.agents.scripted import ScriptedAgent
    from crm_env.envs.env import CrmEnv
    from crm_env.learning.run import episode_seed_of, load_stream, stream_order

    conversations = load_stream(config)
    env = CrmEnv(dataset=conversations, split=None, conversation_seed=None)
    start = time.perf_counter()
    for index in range(config.episodes):
        conv = stream_order(conversations, config.seed, index)
        seed = episode_seed_of(config.seed, index)
        agent = ScriptedAgent([conv], seed=seed)
        obs, _ = env.reset(seed=seed, options={"conversation_id": conv.conversation_id})
        agent.reset(conv.conversation_id)
        done = False
        while not done:
            obs, _, terminated, truncated, _ = env.step(agent.act(obs))
            done = terminated or truncated
    seconds = time.perf_counter() - start
    env.close()
    return seconds


def _looped(config) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    """(seconds, turns) of a whole ``run_learning`` in a fresh run directory."""
    import io
    import tempfile
    from pathlib import Path

    from crm_env.learning.run import run_learning

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        summary = run_learning(config, Path(tmp) / "run", progress=False, console=io.StringIO())
        return time.perf_counter() - start, summary["turns"]


def _loop_overhead(lanes: tuple[str, ...]) -> dict[str, tuple[float, int]]:
    """Per lane: (seconds of loop overhead per turn, turns) over ``LOOP_EPISODES`` train episodes: the
    medians of ``REPEATS`` interleaved runs of each, after a warm-up run (one-time costs such as lazy
    imports are not per turn)."""
    from crm_env.learning.run import LearnConfig

    config = LearnConfig(episodes=LOOP_EPISODES)
    _looped(config.model_copy(update={"episodes": WARM_UP_EPISODES}))
    plain: list[float] = []
    looped: dict[str, list[float]] = {lane: [] for lane in lanes}
    turns: dict[str, int] = {}
    for _ in range(REPEATS):
        plain.append(_plain_seconds(config))
        for lane in lanes:
            seconds, turns[lane] = _looped(config.model_copy(update={"lane": lane}))
            looped[lane].append(seconds)
    return {lane: ((statistics.median(looped[lane]) - statistics.median(plain)) / turns[lane], turns[lane])
            for lane in lanes}


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
    lanes = _loop_overhead(("coach", "paired"))
    (overhead, turns), (paired, paired_turns) = lanes["coach"], lanes["paired"]
    return [
        Figure(f"learning loop overhead per turn ({turns:,} turns)", overhead * 1e3, "ms", 1.0,
               higher_is_better=False),
        Figure(f"learning loop overhead per turn, paired lane ({paired_turns:,} turns)", paired * 1e3, "ms", 2.0,
               higher_is_better=False),
        Figure(f"learning retrieval per turn ({ENTRIES:,} entries)", per_turn * 1e3, "ms", 1.0, higher_is_better=False),
        Figure(f"learning retrieval index build ({ENTRIES:,} entries)", build * 1e3, "ms"),
        Figure("learning entries injected per turn (budget 300 tokens)", injected / len(requests), "entries"),
    ]
