"""crm_env: a production-faithful CRM as a Gymnasium environment for LLM agents.

Importing it registers ``ArcCrm-v0`` with Gymnasium and nothing more: the sandbox, the tools and the seed
builder load on first use (PEP 562), so the command line and ``gym.make`` start fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from crm_env.envs.registration import register_envs
from crm_env.errors import (
    ConflictError,
    CrmEnvError,
    InfrastructureError,
    NotFoundError,
    RuleViolationError,
    SeedError,
    ToolError,
    UnknownToolError,
    ValidationError,
)

register_envs()

__version__ = "0.1.0"

_LAZY = {"CrmSandbox": "crm_env.sandbox", "ToolResult": "crm_env.sandbox", "Seed": "crm_env.schema.seed",
         "build_seed": "crm_env.schema.seed", "catalog": "crm_env.tools"}

__all__ = [
    "ConflictError",
    "CrmEnvError",
    "CrmSandbox",
    "InfrastructureError",
    "NotFoundError",
    "RuleViolationError",
    "Seed",
    "SeedError",
    "ToolError",
    "ToolResult",
    "UnknownToolError",
    "ValidationError",
    "__version__",
    "build_seed",
    "catalog",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'crm_env' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)
