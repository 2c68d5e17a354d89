"""The tool catalog: every CRM operation an agent can call, declared once.

Importing this package registers the tools; ``catalog()`` returns their specs in a stable order.
"""

from __future__ import annotations

from crm_env.errors import UnknownToolError
from crm_env.tools import attachments, clients, contracts, opportunities, quotes  # noqa: F401  (registers tools)
from crm_env.tools.context import Change, ChangeOp, Context
from crm_env.tools.formats import to_anthropic, to_openai, to_text
from crm_env.tools.registry import ToolSpec, registered

_CATALOG: tuple[ToolSpec, ...] = tuple(sorted(registered().values(), key=lambda s: s.name))
_BY_NAME = {spec.name: spec for spec in _CATALOG}
TOOL_NAMES: tuple[str, ...] = tuple(_BY_NAME)


def catalog() -> tuple[ToolSpec, ...]:
    """Every agent tool's spec, sorted by name."""
    return _CATALOG


def get_spec(name: object) -> ToolSpec:
    """The spec of a tool by name.

    Raises:
        UnknownToolError: No tool has that name; the message lists the available ones.
    """
    spec = _BY_NAME.get(name) if isinstance(name, str) else None
    if spec is None:
        shown = name if isinstance(name, str) and len(name) <= 60 else f"{str(name)[:57]}..."
        raise UnknownToolError(f"Unknown tool {shown!r}; available tools: {', '.join(TOOL_NAMES)}.")
    return spec


def openai_tools() -> list[dict]:
    return to_openai(_CATALOG)


def anthropic_tools() -> list[dict]:
    return to_anthropic(_CATALOG)


__all__ = [
    "TOOL_NAMES",
    "Change",
    "ChangeOp",
    "Context",
    "ToolSpec",
    "anthropic_tools",
    "catalog",
    "get_spec",
    "openai_tools",
    "to_text",
]
