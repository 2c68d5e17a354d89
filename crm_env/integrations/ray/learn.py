"""``crm-env learn run`` on Ray: worker actors play learning episodes; the driver learns from them in order.

Each ``LearnWorker`` actor holds C ``LearningLoop`` slots (built as the local run builds them: an env, a
teacher and judge clients each) and plays episode ``i`` with the snapshot the scheduler gives it (the
memory, the per-cue estimates, and the judge grades episode ``i`` may see), exactly as a local slot would
(``schedule.prepare_slot``). The driver's scheduler learns from the played episodes in order and writes
everything, so a Ray run writes the same bytes as a local one. A worker that dies is replaced and the
episode played again; after ``MAX_ATTEMPTS`` the run stops as on any infrastructure failure (resumable).
"""

from __future__ import annotations

from typing import Any

import ray
from ray.exceptions import RayTaskError

from crm_env.errors import InfrastructureError
from crm_env.integrations.ray.workers import MAX_ATTEMPTS, WORKER_LOST, Workers
from crm_env.learning.loop import Played
from crm_env.learning.schedule import Snapshot, prepare_slot


class LearnWorker:
    """One Ray actor: C learning slots (see the module docstring)."""

    def __init__(self, config: Any, conversations: list[Any], prices: Any, slots: int) -> None:
        from crm_env.learning.run import build_loop

        self.conversations = {c.conversation_id: c for c in conversations}
        self.free = [build_loop(config, conversations, prices) for _ in range(slots)]

    def play(self, index: int, conversation_id: str, seed: int, snapshot: Snapshot,
             grades: dict[str, dict[str, Any]]) -> Played:
        slot = self.free.pop()  # at most `slots` calls run at once (the actor's threads), so one is free
        try:
            prepare_slot(slot, snapshot, grades)
            return slot.play(index, self.conversations[conversation_id], seed, snapshot.state)
        finally:
            self.free.append(slot)

    def close(self) -> None:
        for slot in self.free:
            slot.env.close()


class LearnPool(Workers):
    """The driver's side (``RemotePlayer``): ``play`` runs one episode on a lane's actor, blocking."""

    def __init__(self, config: Any, conversations: list[Any], prices: Any, workers: int, slots: int) -> None:
        super().__init__(LearnWorker, (config, ray.put(conversations), prices, slots), workers, slots)

    def play(self, lane: int, index: int, conversation_id: str, seed: int, snapshot: Snapshot,
             grades: dict[str, dict[str, Any]]) -> Played:
        deaths: list[str] = []
        while len(deaths) < MAX_ATTEMPTS:
            actor = self.actor(lane)
            try:
                return ray.get(actor.play.remote(index, conversation_id, seed, snapshot, grades))
            except RayTaskError as exc:  # the episode raised: an outage stops the run as in a local one
                raise exc.as_instanceof_cause() from None
            except WORKER_LOST as exc:
                deaths.append(self.replace(lane, actor, exc))
        raise InfrastructureError(f"ray worker lost {MAX_ATTEMPTS} times; last: {deaths[-1]}")
