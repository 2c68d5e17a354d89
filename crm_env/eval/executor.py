"""Where a run's episodes are played: this process (``local``) or Ray worker actors (``ray``).

Declared once for ``crm-env eval`` and ``crm-env learn run``: the configuration fields (a mixin of both
configs), their command-line flags and the checks between them. None of them changes an episode's
outcome, so a resumed run may change every one (``EXECUTOR_FIELDS``).
"""

from __future__ import annotations

import argparse
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from crm_env.errors import ConfigError

Executor = Literal["local", "ray"]
DEFAULT_SLOTS_PER_WORKER = 8


class ExecutorFields(BaseModel):
    """The executor fields of a run's configuration (see ``add_executor_flags`` for each)."""

    executor: Executor = "local"
    ray_address: str | None = None  # a running Ray cluster (HOST:PORT or "auto"); None starts a local one
    workers: int | None = Field(default=None, ge=1, le=4096)  # Ray worker actors (default: the cluster's CPUs)
    slots_per_worker: int | None = Field(default=None, ge=1, le=1024)  # episodes in flight per actor (default 8)

    @model_validator(mode="after")
    def _ray_flags_need_ray(self) -> Any:
        if self.executor != "ray":
            given = [flag for flag, value in (("--ray-address", self.ray_address), ("--workers", self.workers),
                                              ("--slots-per-worker", self.slots_per_worker)) if value is not None]
            if given:
                raise ConfigError(f"{', '.join(given)} apply to Ray workers: add --executor ray")
        return self

    def local_copy(self) -> Any:
        """This configuration with its Ray settings cleared (a Ray run resumed in this process)."""
        return self.model_copy(update={"executor": "local", "ray_address": None, "workers": None,
                                       "slots_per_worker": None})


EXECUTOR_FIELDS = frozenset(ExecutorFields.model_fields)


def add_executor_flags(parser: argparse.ArgumentParser) -> None:
    """The ``--executor``, ``--ray-address``, ``--workers`` and ``--slots-per-worker`` flags."""
    ray = parser.add_argument_group("scale-out on Ray (extra [ray]; see the README's 'Scaling out on Ray')")
    ray.add_argument("--executor", choices=("local", "ray"), default=None,
                     help="where episodes run: this process (local, default) or Ray worker actors")
    ray.add_argument("--ray-address", default=None, metavar="ADDR",
                     help="a running cluster's head (HOST:PORT, or 'auto' for the one `ray start` runs here); "
                          "default: start a local cluster on loopback for this run")
    ray.add_argument("--workers", type=int, default=None, metavar="N",
                     help="Ray worker actors, one CPU each (default: the cluster's CPUs)")
    ray.add_argument("--slots-per-worker", type=int, default=None, metavar="C",
                     help=f"episodes in flight per worker (default {DEFAULT_SLOTS_PER_WORKER}); each holds its "
                          "own env (on PostgreSQL, one connection)")


def check_executor_flags(given: dict[str, Any]) -> None:
    """Refuse ``--concurrency`` with Ray, where episodes in flight are workers × slots.

    Raises:
        ConfigError: Both were given.
    """
    if given.get("executor") == "ray" and "concurrency" in given:
        raise ConfigError("with --executor ray, episodes in flight are --workers × --slots-per-worker; "
                          "leave out --concurrency")
