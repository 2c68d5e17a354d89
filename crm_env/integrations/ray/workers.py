"""Ray worker actors as the driver keeps them: one CPU each, ``slots`` calls at once, replaced when they die.

An episode is keyed and seeded, so playing it again gives the same outcome: when a worker dies (its
process killed, its node lost) the driver starts a new actor in its place (up to ``MAX_RESTARTS`` times)
and the caller plays the episode again, up to ``MAX_ATTEMPTS`` times. The driver replaces actors itself
rather than through Ray's ``max_restarts``, which Ray discourages for actors whose constructor arguments
live in the object store, as the conversations do.
"""

from __future__ import annotations

from typing import Any

import ray
from ray.exceptions import ActorDiedError, ActorUnavailableError, GetTimeoutError, RayActorError

from crm_env.errors import ConfigError
from crm_env.eval.config import mask_url

MAX_ATTEMPTS = 3  # plays of one episode on dying workers before it is given up
MAX_RESTARTS = 8  # per worker; one that keeps dying is a fault to look at, not to loop on
CLOSE_TIMEOUT_S = 10.0
DB_HEADROOM = 3  # connections left for other clients (psql, monitoring) on a shared server
WORKER_LOST = (ActorDiedError, ActorUnavailableError, RayActorError)


class Workers:
    """``workers`` actors of ``cls(*args)``, ``slots`` lanes each (lane ``i`` is on actor ``i % workers``)."""

    def __init__(self, cls: type, args: tuple[Any, ...], workers: int, slots: int) -> None:
        self.args = args
        self.remote = ray.remote(cls).options(num_cpus=1, max_concurrency=slots)
        self.actors = [self.remote.remote(*args) for _ in range(workers)]
        self.restarts = [0] * workers
        self.lanes = workers * slots

    def actor(self, lane: int) -> Any:
        return self.actors[lane % len(self.actors)]

    def replace(self, lane: int, dead: Any, exc: BaseException) -> str:
        """Replace a dead worker (once, whichever of its lanes noticed first); returns what happened to it."""
        index = lane % len(self.actors)
        if self.actors[index] is dead and self.restarts[index] < MAX_RESTARTS:
            self.restarts[index] += 1
            self.actors[index] = self.remote.remote(*self.args)
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"

    def close(self) -> None:
        """Let the workers close their envs (their database connections), then stop them."""
        try:
            ray.get([actor.close.remote() for actor in self.actors], timeout=CLOSE_TIMEOUT_S)
        except (*WORKER_LOST, GetTimeoutError):
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

    from crm_env.backends.sql_engine import client_connections, create_engine

    engine = create_engine(backend)
    try:
        with engine.connect() as conn:
            limit = int(conn.execute(sa.text("SHOW max_connections")).scalar_one())
            reserved = int(conn.execute(sa.text("SHOW superuser_reserved_connections")).scalar_one())
            used = client_connections(conn)
    finally:
        engine.dispose()
    room = limit - reserved - used - DB_HEADROOM
    if connections > room:
        raise ConfigError(f"--backend {mask_url(backend)}: {connections} connections needed (workers × "
                          f"slots-per-worker) but the server has room for {max(room, 0)} (max_connections "
                          f"{limit}, {reserved} reserved, {used} in use, {DB_HEADROOM} kept free); lower --workers "
                          "or --slots-per-worker, or raise max_connections")
