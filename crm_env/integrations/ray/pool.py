"""``crm-env eval`` on Ray: worker actors play episodes; the driver's runner stays the single writer.

Each ``EpisodeWorker`` actor holds C env slots (a ``CrmEnv`` each and, on a SQL backend, one connection
each, opened on first use and kept), and plays one (conversation, trial) episode per call with the same
code as the local runner (``Runner.episode``), returning the finished result line. A worker that dies is
replaced (``workers``) and its episodes played again; one still not played after ``MAX_ATTEMPTS`` becomes
an ``infra_error`` line, which ``--resume`` retries.
"""

from __future__ import annotations

import io
import time
import uuid
from typing import Any

import ray
from ray.exceptions import RayTaskError

from crm_env.eval.results import ResultLine
from crm_env.eval.runner import AgentFactory, Prepared, Runner
from crm_env.integrations.ray.workers import MAX_ATTEMPTS, WORKER_LOST, Workers


class EpisodeWorker:
    """One Ray actor: C env slots and the local runner's episode code (see the module docstring)."""

    def __init__(self, prepared: Prepared, agent_factory: AgentFactory | None, session: str, slots: int) -> None:
        config = prepared.config.model_copy(update={"concurrency": slots, "progress": False}).local_copy()
        local = Prepared(config, prepared.conversations, prepared.record, prepared.out)
        self.runner = Runner(local, agent_factory, stream=io.StringIO())
        self.runner.session = session  # every line says which driver session wrote it
        self.free: list[list[Any]] = [[None] for _ in range(slots)]

    async def play(self, conversation_id: str, trial: int, history: list[str]) -> str:
        holder = self.free.pop()  # the actor runs at most `slots` calls at once, so one is always free
        try:
            line = await self.runner.episode(holder, self.runner.conversations[conversation_id], trial, history)
        finally:
            self.free.append(holder)
        return line.model_dump_json()

    def close(self) -> None:
        self.runner.close()


class RayPool(Workers):
    """The driver's side: ``play`` runs one episode on a lane's actor (``EpisodePool`` of the runner)."""

    def __init__(self, prepared: Prepared, agent_factory: AgentFactory | None, workers: int, slots: int) -> None:
        self.session = uuid.uuid4().hex[:12]
        self.runner = Runner(prepared, agent_factory, stream=io.StringIO(), pool=self)  # for infra lines only
        # The conversations travel to the object store once, not once per actor; the ref is kept for restarts.
        super().__init__(EpisodeWorker, (ray.put(prepared), agent_factory, self.session, slots), workers, slots)

    async def play(self, lane: int, conversation_id: str, trial: int, history: list[str]) -> ResultLine:
        conv = self.runner.conversations[conversation_id]
        base, started = self.runner.line_base(conv, trial, history), time.perf_counter()
        deaths: list[str] = []
        while len(deaths) < MAX_ATTEMPTS:
            actor = self.actor(lane)
            try:
                return ResultLine.model_validate_json(await actor.play.remote(conversation_id, trial, history))
            except RayTaskError as exc:  # the episode raised: a bug or a refusal, as in the local runner
                raise exc.as_instanceof_cause() from None
            except WORKER_LOST as exc:
                deaths.append(self.replace(lane, actor, exc))
        return ResultLine(**base, status="infra_error", finished_at=time.time(),
                          latency_s=time.perf_counter() - started,
                          cause=f"ray worker lost {MAX_ATTEMPTS} times; last: {deaths[-1]}")
