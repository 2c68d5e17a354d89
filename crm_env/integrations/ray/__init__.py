"""Scale-out on Ray (extra ``[ray]``): ``crm-env eval --executor ray`` plays episodes on worker actors.

``open_pool`` reaches the cluster (``cluster``), checks that a shared PostgreSQL server has a connection
for every env slot, and starts the worker actors (``pool``); the runner in the driver stays the single
writer of ``results.jsonl``, so progress, budget stop, Ctrl-C and ``--resume`` behave as in a local run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from crm_env.eval.config import DEFAULT_SLOTS_PER_WORKER
from crm_env.eval.runner import AgentFactory, Prepared
from crm_env.integrations.ray.cluster import Cluster, connect


@contextmanager
def open_pool(prepared: Prepared, agent_factory: AgentFactory | None = None) -> Iterator[tuple[Any, Cluster]]:
    """The ``RayPool`` of a run and its cluster; both are stopped on leaving (a cluster we joined keeps running).

    Raises:
        ConfigError: The extra is missing, the cluster cannot be reached or is too small, or the database
            cannot take workers × slots connections.
    """
    config = prepared.config
    cluster = connect(config.ray_address, config.workers)
    try:
        from crm_env.integrations.ray.pool import RayPool, check_database

        workers = config.workers or max(cluster.cpus, 1)
        slots = config.slots_per_worker or DEFAULT_SLOTS_PER_WORKER
        check_database(config.backend, workers * slots)
        pool = RayPool(prepared, agent_factory, workers, slots)
    except BaseException:
        cluster.close()
        raise
    try:
        yield pool, cluster
    finally:
        pool.close()
        cluster.close()
