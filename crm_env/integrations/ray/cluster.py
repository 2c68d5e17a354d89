"""Reaching a Ray cluster: the one named by ``--ray-address``, one already joined, or a local one we start.

Everything that can fail here fails before a run starts, with what to do: the ``[ray]`` extra missing, an
address nothing answers at, more workers than the cluster has CPUs. A local cluster binds to loopback only
and reports no usage statistics; it is shut down when the run ends. A cluster we joined is left running.
"""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import dataclass
from types import ModuleType

from crm_env.errors import ConfigError

PROBE_TIMEOUT_S = 3.0
# Small: the object store carries only the run's conversations and one result line per episode.
LOCAL_OBJECT_STORE_BYTES = 256 * 1024**2


def require_ray(*, local: bool = False) -> ModuleType:
    """The ``ray`` package, or a ``ConfigError`` saying how to install it.

    Args:
        local: A local cluster will be started: Ray is told (before it is imported, when it reads its
            settings) that the cluster is a single-machine one, so that every server it starts binds to
            loopback instead of the machine's network address.
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if local:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError:
        raise ConfigError("--executor ray needs the [ray] extra: pip install 'crm_env[ray]' "
                          "(or run without --executor ray)") from None
    return ray


@dataclass
class Cluster:
    """The Ray cluster a run uses, and whether this process started it (and so stops it)."""

    ray: ModuleType
    cpus: int
    started: bool

    def describe(self) -> str:
        where = "a local cluster on loopback" if self.started else "the joined cluster"
        return f"{where} ({self.cpus} CPU(s))"

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()


def connect(address: str | None, workers: int | None) -> Cluster:
    """Join the cluster at ``address`` (``"auto"``: the one ``ray start`` runs on this machine), reuse the
    one this process already joined, or start a local one with at least ``workers`` CPUs.

    Raises:
        ConfigError: No ``[ray]`` extra, nothing at ``address``, or fewer CPUs than ``workers``.
    """
    loaded = sys.modules.get("ray")
    joined = loaded is not None and loaded.is_initialized()
    ray = require_ray(local=address is None and not joined)
    started = False
    if not joined:
        if address is None:
            ray.init(address="local", num_cpus=max(os.cpu_count() or 1, workers or 1), include_dashboard=False,
                     object_store_memory=LOCAL_OBJECT_STORE_BYTES, log_to_driver=False, configure_logging=False)
            started = True
        else:
            if address != "auto":
                _reachable(address)
            try:
                ray.init(address=address, log_to_driver=False, configure_logging=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise ConfigError(f"--ray-address {address}: cannot join the Ray cluster ({exc}); start one with "
                                  "`ray start --head` or leave out --ray-address for a local one") from None
    cpus = int(ray.cluster_resources().get("CPU", 0))
    cluster = Cluster(ray, cpus, started)
    if workers is not None and workers > cpus:
        cluster.close()
        raise ConfigError(f"--workers {workers}: the Ray cluster has {cpus} CPU(s) and each worker takes one; "
                          "ask for fewer workers (and more --slots-per-worker) or add nodes")
    return cluster


def _reachable(address: str) -> None:
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--ray-address {address}: give HOST:PORT of the cluster's head (the port "
                          "`ray start --head` prints, 6379 by default) or 'auto'")
    try:
        socket.create_connection((host, int(port)), timeout=PROBE_TIMEOUT_S).close()
    except OSError as exc:
        raise ConfigError(f"--ray-address {address}: nothing answers there ({exc.strerror or exc}); start the "
                          "head with `ray start --head --port PORT`, or leave out --ray-address to run on a "
                          "local cluster") from None
