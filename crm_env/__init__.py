"""crm_env: a production-faithful CRM as a Gymnasium environment for LLM agents."""

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
from crm_env.sandbox import CrmSandbox, ToolResult
from crm_env.schema.seed import Seed, build_seed
from crm_env.tools import catalog

register_envs()

__version__ = "0.1.0"

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
