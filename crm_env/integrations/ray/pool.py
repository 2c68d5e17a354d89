"""Episodes on Ray worker actors; the driver's runner stays the single writer of ``results.jsonl``.

Each ``EpisodeWorker`` actor holds C env slots (a ``CrmEnv`` each and, on a SQL backend, one connection
each, opened on first use and kept), and plays one (conversation, trial) episode per call with the same
code as the local runner (``Runner.episode``), returning the finished result line. An episode is keyed and
seeded by (conversation, trial), so playing it again gives the same line: when a worker dies (its process
killed, its node lost) the driver starts a new actor in its place and plays the episode again, up to
``MAX_ATTEMPTS`` times; after that it becomes an ``infra_error`` line, which ``--resume`` retries. (The
driver replaces actors itself rather than through Ray's ``max_restarts``, which Ray discourages for actors
whose constructor arguments live in the object store, as the conversations do.)
"""

from __future__ import annotations

import io
import time
import uuid
from typing import Any

import ray
from ray.exceptions import ActorDiedError, ActorUnavailableError, RayActorError, RayTaskError

from crm_env.errors import ConfigError
from crm_env.eval.config import DEFAULT_SLOTS_PER_WORKER, mask_url
from crm_env.eval.results import ResultLine
from crm_env.eval.runner import AgentFactory, Prepared, Runner

MAX_ATTEMPTS = 3  # plays of one episode on dying workers before it is left to --resume
MAX_RESTARTS = 8  # per worker; one that keeps dying is a fault to look at, not to loop on
CLOSE_TIMEOUT_S = 10.0
DB_HEADROOM = 3  # connections left for other clients (psql, monitoring) on a shared server


class EpisodeWorker:
    """One Ray actor: C env slots and the local runner's episode code (see the module docstring)."""

    def __init__(self, prepared: Prepared, agent_factory: AgentFactory | None, session: str, slots: int) -> None:
        config = prepared.config.model_copy(update={"concurrency": slots, "progress": False, "executor": "local"})
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

    def slots_open(self) -> int:
        return len(self.runner.slots)

    def close(self) -> None:
        self.runner.close()


class RayPool:
    """The driver's side: ``workers`` actors × ``slots`` lanes; ``play`` runs one episode on a lane's actor."""

    def __init__(self, prepared: Prepared, agent_factory: AgentFactory | None, workers: int,
                 slots: int | None = None) -> None:
        slots = slots or DEFAULT_SLOTS_PER_WORKER
        self.session = uuid.uuid4().hex[:12]
        self.lanes = workers * slots
        self.runner = Runner(prepared, agent_factory, stream=io.StringIO(), pool=self)  # for infra lines only
        # The conversations travel to the object store once, not once per actor; the ref is kept for restarts.
        self.args = (ray.put(prepared), agent_factory, self.session, slots)
        self.remote = ray.remote(EpisodeWorker).options(num_cpus=1, max_concurrency=slots)
        self.actors = [self.remote.remote(*self.args) for _ in range(workers)]
        self.restarts = [0] * workers

    def _restart(self, index: int, dead: Any) -> None:
        """Replace a dead worker (once, whichever of its lanes noticed first), up to ``MAX_RESTARTS`` times."""
        if self.actors[index] is dead and self.restarts[index] < MAX_RESTARTS:
            self.restarts[index] += 1
            self.actors[index] = self.remote.remote(*self.args)

    async def play(self, lane: int, conversation_id: str, trial: int, history: list[str]) -> ResultLine:
        index = lane % len(self.actors)
        conv = self.runner.conversations[conversation_id]
        base, started = self.runner.line_base(conv, trial, history), time.perf_counter()
        deaths: list[str] = []
        while len(deaths) < MAX_ATTEMPTS:
            actor = self.actors[index]
            try:
                return ResultLine.model_validate_json(await actor.play.remote(conversation_id, trial, history))
            except RayTaskError as exc:  # the episode raised: a bug or a refusal, as in the local runner
                raise exc.as_instanceof_cause() from None
            except (ActorDiedError, ActorUnavailableError, RayActorError) as exc:
                deaths.append(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
                self._restart(index, actor)
        return ResultLine(**base, status="infra_error", finished_at=time.time(),
                          latency_s=time.perf_counter() - started,
                          cause=f"ray worker lost {MAX_ATTEMPTS} times; last: {deaths[-1]}")

    def close(self) -> None:
        """Close the workers' env slots (their database connections), then stop the actors."""
        try:
            ray.get([actor.close.remote() for actor in self.actors], timeout=CLOSE_TIMEOUT_S)
        except (RayActorError, ray.exceptions.GetTimeoutError):
            pass  # a dead or stuck worker: killing it below drops its connections all the same
        for actor in self.actors:
            ray.kill(actor, no_restart=True)
        self.actors = []


def check_database(backend: str, connections: int) -> None:
    """A shared PostgreSQL server must take one connection per slot; refuse before starting if it cannot.

    Raises:
        ConfigError: The server's ``max_connections`` leaves too little room.
    """
    if not backend.startswith("postgresql"):
        return  # memory: a store per slot; SQLite: a file per machine (its own locking)
    import sqlalchemy as sa

    from crm_env.backends.sql_engine import create_engine

    engine = create_engine(backend)
    try:
        with engine.connect() as conn:
            limit = int(conn.execute(sa.text("SHOW max_connections")).scalar_one())
            reserved = int(conn.execute(sa.text("SHOW superuser_reserved_connections")).scalar_one())
            used = int(conn.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE backend_type = "
                                            "'client backend'")).scalar_one())
    finally:
        engine.dispose()
    room = limit - reserved - used - DB_HEADROOM
    if connections > room:
        raise ConfigError(f"--backend {mask_url(backend)}: {connections} connections needed (workers × "
                          f"slots-per-worker) but the server has room for {max(room, 0)} (max_connections "
                          f"{limit}, {reserved} reserved, {used} in use, {DB_HEADROOM} kept free); lower --workers "
                          "or --slots-per-worker, or raise max_connections")
