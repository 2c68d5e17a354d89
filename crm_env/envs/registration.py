"""Registering ``ArcCrm-v0`` with Gymnasium (called from ``crm_env/__init__.py``).

``gymnasium.make("crm_env:ArcCrm-v0")`` imports ``crm_env`` first, which registers the id, so it works
without an explicit import. The entry point is a string: registering never imports the env module.
"""

from __future__ import annotations

from typing import Any

import gymnasium

ENV_ID = "ArcCrm-v0"
ENTRY_POINT = "crm_env.envs.env:CrmEnv"
DEFAULT_KWARGS: dict[str, Any] = {
    "dataset": "arc-crm-1200",
    "split": "eval-400",
    "backend": "memory",
    "max_tool_calls": 10,
    "state_view": "changed",
    "judge": None,
    "conversation_seed": 0,
    "step_limit": 200,
    "reveal_reference": False,
    "reward_mode": "success",
}


def register_envs() -> None:
    """Register every crm_env environment id once (idempotent)."""
    if ENV_ID not in gymnasium.registry:
        gymnasium.register(id=ENV_ID, entry_point=ENTRY_POINT, kwargs=dict(DEFAULT_KWARGS))


def registered_ids() -> list[str]:
    """The ids this package registers (tests parametrise over them)."""
    return [env_id for env_id, spec in gymnasium.registry.items()
            if isinstance(spec.entry_point, str) and spec.entry_point.startswith("crm_env.")]
