"""Scale-out on Ray (extra ``[ray]``): ``crm-env eval`` and ``crm-env learn run`` with ``--executor ray``
play episodes on worker actors while the driver stays the single writer of the run directory.

``ScaleOut`` reaches the cluster first (``cluster``: before a run writes anything), then starts the worker
actors of an evaluation (``pool.RayPool``) or a learning run (``learn.LearnPool``) once a shared
PostgreSQL server is known to have a connection for every slot (``workers.check_database``). Nothing here
imports Ray before ``cluster.connect`` has set it up.
"""

from __future__ import annotations

from typing import Any

from crm_env.eval.executor import DEFAULT_SLOTS_PER_WORKER, ExecutorFields
from crm_env.integrations.ray.cluster import Cluster, connect


class ScaleOut:
    """The Ray cluster of one run and the worker actors started on it; ``close`` stops both (a cluster
    this process joined keeps running).

    Raises:
        ConfigError: The extra is missing, the cluster cannot be reached or has fewer CPUs than workers.
    """

    def __init__(self, config: ExecutorFields) -> None:
        self.cluster: Cluster = connect(config.ray_address, config.workers)
        self.workers = config.workers or max(self.cluster.cpus, 1)
        self.slots = config.slots_per_worker or DEFAULT_SLOTS_PER_WORKER
        self.pool: Any = None

    def _checked(self, backend: str) -> None:
        from crm_env.integrations.ray.workers import check_database

        check_database(backend, self.workers * self.slots)

    def eval_pool(self, prepared: Any, agent_factory: Any = None) -> Any:
        """The ``RayPool`` playing an evaluation's episodes (``crm_env.eval.runner.EpisodePool``)."""
        from crm_env.integrations.ray.pool import RayPool

        self._checked(prepared.config.backend)
        self.pool = RayPool(prepared, agent_factory, self.workers, self.slots)
        return self.pool

    def learn_pool(self, config: Any, conversations: list[Any], prices: Any) -> Any:
        """The ``LearnPool`` playing a learning run's episodes (``crm_env.learning.schedule.RemotePlayer``)."""
        from crm_env.integrations.ray.learn import LearnPool

        self._checked(config.backend)
        self.pool = LearnPool(config, conversations, prices, self.workers, self.slots)
        return self.pool

    def describe(self) -> str:
        return (f"on Ray: {self.workers} worker(s) × {self.slots} slot(s) = {self.workers * self.slots} episode(s) "
                f"in flight, {self.cluster.describe()}")

    def close(self) -> None:
        try:
            if self.pool is not None:
                self.pool.close()
        finally:
            self.cluster.close()
