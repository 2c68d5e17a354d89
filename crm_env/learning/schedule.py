"""Concurrent learning episodes whose outcome does not depend on the concurrency.

Episode ``i`` plays with what was learned up to episode ``i - 1 - lag``: the memory, the adaptive and
escalate lanes' per-cue estimates and the judges' cache as they stood after it (``--lag``, default 0: the
episode just before). It is then learned from in episode order, against the memory as it stands at that
moment (impact counts and the curator's changes), and its outcomes are folded into the estimates. Up to
``lag + 1`` episodes can therefore be in flight at once; ``--concurrency`` of them are. What an episode sees
is fixed by ``lag`` alone, so a run with concurrency 8 writes the same bytes as with concurrency 1; with lag
0 nothing overlaps (each episode learns from the one before it).

Each slot (one per concurrent episode) is a ``LearningLoop`` with its own env, teacher and judge clients,
so an episode's calls and costs are its own. The judges' cache is shared: a grade is tagged with the
episode that made it and an episode sees only the grades of episodes up to ``i - 1 - lag`` and its own.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, MutableMapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from crm_env.learning.events import EpisodeEnd, JudgeSamples
from crm_env.learning.loop import EpisodeRecord, LearningLoop, Played
from crm_env.learning.memory import PlaybookState


class TaggedCache:
    """Judge grades by cache key, each tagged with the episode that made it."""

    def __init__(self) -> None:
        self._grades: dict[str, dict[int, dict[str, Any]]] = {}

    def put(self, key: str, episode: int, value: dict[str, Any]) -> None:
        self._grades.setdefault(key, {})[episode] = value

    def view(self, episode: int, horizon: int) -> _View:
        """What episode ``episode`` may see: grades of episodes up to ``horizon`` and its own."""
        return _View(self, episode, horizon)


class _View(MutableMapping[str, dict[str, Any]]):
    def __init__(self, cache: TaggedCache, episode: int, horizon: int) -> None:
        self._cache, self._episode, self._horizon = cache, episode, horizon

    def __getitem__(self, key: str) -> dict[str, Any]:
        tags = [t for t in self._cache._grades.get(key, {}) if t <= self._horizon or t == self._episode]
        if not tags:
            raise KeyError(key)
        return self._cache._grades[key][min(tags)]

    def __setitem__(self, key: str, value: dict[str, Any]) -> None:
        self._cache.put(key, self._episode, value)

    def __delitem__(self, key: str) -> None:
        raise TypeError("judge grades are never removed")

    def __iter__(self) -> Iterator[str]:
        return (k for k in list(self._cache._grades) if k in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)


@dataclass
class Snapshot:
    """What was learned after an episode: the memory and the per-cue estimates."""

    state: PlaybookState
    policy: Any
    escalation: Any


class RemotePlayer(Protocol):
    """Plays episodes outside this process (``crm_env.integrations.ray.learn``), each on a lane."""

    lanes: int

    def play(self, lane: int, index: int, conversation_id: str, seed: int, snapshot: Snapshot,
             grades: dict[str, dict[str, Any]]) -> Played:
        """Episode ``index`` played as ``prepare_slot`` and ``LearningLoop.play`` would, with ``grades`` the
        judge grades it may see of other episodes (InfrastructureError: it could not be played)."""
        ...


def prepare_slot(slot: LearningLoop, snapshot: Snapshot, grades: MutableMapping[str, dict[str, Any]]) -> None:
    """Set a slot up to play with what was learned up to the snapshot, grading through ``grades``."""
    slot.policy = copy.deepcopy(snapshot.policy)
    slot.escalation = copy.deepcopy(snapshot.escalation)
    if slot.judges is not None:
        slot.judges.use_cache(grades)


def judge_grades(samples: Any, arbiter: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """The cache entries of a ``JudgeSamples`` event's grades: (key, grade)."""
    for grade in (*samples, *((arbiter,) if arbiter else ())):
        yield grade.key, {"goal": grade.goal, "process": grade.process, "rationale": grade.rationale}


class Scheduler:
    """Plays episodes on ``slots`` (or on a remote player's lanes; ``slots[0]`` then learns) and learns from
    them in order (see the module docstring)."""

    def __init__(self, slots: list[LearningLoop], lag: int, cache: TaggedCache,
                 remote: RemotePlayer | None = None) -> None:
        self.slots = slots
        self.lag = lag
        self.cache = cache
        self.remote = remote
        self.policy = copy.deepcopy(slots[0].policy)  # the estimates after the last episode learned from
        self.escalation = copy.deepcopy(slots[0].escalation)
        self.snapshots: dict[int, Snapshot] = {}
        self.state = PlaybookState()

    def prime(self, events: list[Any], state_at: Callable[[int], PlaybookState], start_version: int) -> None:
        """Rebuild what the run's recorded episodes left (a resumed run continues as an uninterrupted one)."""
        ends = [k for k, e in enumerate(events) if isinstance(e, EpisodeEnd)]
        first_needed = len(ends) - 1 - self.lag
        if first_needed <= -1:
            self.snapshots[-1] = self._snapshot(state_at(start_version))
        begin = 0
        for j, end in enumerate(ends):
            for tracker in (self.policy, self.escalation):
                if tracker is not None:
                    tracker.replay(events[begin:end + 1])
            begin = end + 1
            if j >= first_needed:
                self.snapshots[j] = self._snapshot(state_at(events[end].memory_version))
        self.state = state_at(events[ends[-1]].memory_version) if ends else state_at(start_version)

    def _snapshot(self, state: PlaybookState) -> Snapshot:
        return Snapshot(state, copy.deepcopy(self.policy), copy.deepcopy(self.escalation))

    def run(self, start: int, end: int, episode_of: Callable[[int], tuple[Any, int]], next_seq: Callable[[], int],
            on_learned: Callable[[EpisodeRecord], None], may_start: Callable[[int], bool]) -> bool:
        """Play and learn from episodes ``start`` to ``end - 1``; False when ``may_start`` (given the number
        of episodes in flight) stopped it early. An episode's exception is raised once every episode before
        it has been learned from."""
        free: list[Any] = list(range(self.remote.lanes)) if self.remote is not None else list(self.slots)
        pending: dict[int, Future[tuple[Any, Played]]] = {}
        upcoming = start
        pool = ThreadPoolExecutor(max_workers=len(free), thread_name_prefix="learn")
        try:
            for index in range(start, end):
                while upcoming < end and free and upcoming - 1 - self.lag < index and may_start(len(pending)):
                    snapshot = self.snapshots[max(upcoming - 1 - self.lag, -1)]
                    if self.remote is None:
                        pending[upcoming] = pool.submit(self._play, free.pop(0), upcoming, *episode_of(upcoming),
                                                        snapshot)
                    else:  # the grades it may see are all in the cache now (they come from learned episodes)
                        conversation, seed = episode_of(upcoming)
                        grades = dict(self.cache.view(upcoming, upcoming - 1 - self.lag).items())
                        pending[upcoming] = pool.submit(self._play_remote, free.pop(0), upcoming,
                                                        conversation.conversation_id, seed, snapshot, grades)
                    upcoming += 1
                if index not in pending:
                    return False
                slot, played = pending.pop(index).result()
                free.append(slot)
                learner = slot
                if self.remote is not None:
                    self._cache_grades(played)
                    learner = self.slots[0]
                record = learner.learn(played, self.state, next_seq())
                on_learned(record)
                self._fold(played)
                self.state = record.state
                self.snapshots[index] = self._snapshot(record.state)
                self.snapshots.pop(index - self.lag - 1, None)  # episodes after this one need later ones
            return True
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _play(self, slot: LearningLoop, index: int, conversation: Any, seed: int,
              snapshot: Snapshot) -> tuple[LearningLoop, Played]:
        prepare_slot(slot, snapshot, self.cache.view(index, index - 1 - self.lag))
        return slot, slot.play(index, conversation, seed, snapshot.state)

    def _play_remote(self, lane: int, index: int, conversation_id: str, seed: int, snapshot: Snapshot,
                     grades: dict[str, dict[str, Any]]) -> tuple[int, Played]:
        assert self.remote is not None
        return lane, self.remote.play(lane, index, conversation_id, seed, snapshot, grades)

    def _cache_grades(self, played: Played) -> None:
        """A remote episode's grades into the cache, as its play would have put them in a local slot (here,
        in the scheduling thread, so no view is read while they are added)."""
        for event_type, fields in played.events:
            if event_type is JudgeSamples:
                for key, grade in judge_grades(fields["samples"], fields["arbiter"]):
                    self.cache.put(key, played.index, grade)

    def _fold(self, played: Played) -> None:
        """An episode's turn outcomes into the estimates, as its own play recorded them."""
        for cue, success, taken_over in played.outcomes:
            if self.escalation is not None:
                self.escalation.record(cue, success, taken_over)
            if self.policy is not None and not taken_over:
                self.policy.record(cue, success)
