"""One exception hierarchy for the whole package.

Tools raise the ``ToolError`` subclasses; only the sandbox / env boundary turns them into
observations. Each subclass carries a stable machine-readable ``kind`` that datasets name as
the expected error of a turn that must be refused.
"""

from __future__ import annotations


class CrmEnvError(Exception):
    """Base class of every error this package raises on purpose."""


class ToolError(CrmEnvError):
    """A tool call that cannot be carried out; the CRM is left unchanged."""

    kind = "tool_error"


class ValidationError(ToolError):
    """An argument is missing, malformed, out of bounds or not allowed."""

    kind = "validation_error"


class NotFoundError(ToolError):
    """A referenced record does not exist."""

    kind = "not_found"


class ConflictError(ToolError):
    """The call clashes with existing data (e.g. a duplicate client e-mail)."""

    kind = "conflict"


class RuleViolationError(ToolError):
    """A business rule forbids the change (e.g. editing a closed deal)."""

    kind = "rule_violation"


class UnknownToolError(ToolError):
    """The action names a tool the catalog does not have."""

    kind = "unknown_tool"


class InfrastructureError(CrmEnvError):
    """The backing store is unreachable or failed; not the agent's fault."""

    kind = "infrastructure_error"


class ConfigError(CrmEnvError):
    """The package was configured with values it cannot use."""


class SeedError(CrmEnvError):
    """Initial records handed to a store are invalid or inconsistent."""


TOOL_ERROR_KINDS: tuple[str, ...] = tuple(
    cls.kind for cls in (ValidationError, NotFoundError, ConflictError, RuleViolationError, UnknownToolError)
)


def flag_error(exc: Exception) -> ConfigError:
    """A pydantic validation error of a command's flags as a ``ConfigError`` naming each flag."""
    errors = getattr(exc, "errors", None)
    if errors is None:
        return ConfigError(str(exc))
    return ConfigError("; ".join(f"--{'.'.join(map(str, e['loc'])).replace('_', '-')}: "
                                 f"{str(e['msg']).removeprefix('Value error, ')}" for e in errors()))
