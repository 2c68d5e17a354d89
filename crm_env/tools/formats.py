"""Render tool specs in the formats LLM providers expect; derived, never hand-written."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from crm_env.tools.registry import ToolSpec


def to_openai(specs: Iterable[ToolSpec]) -> list[dict[str, Any]]:
    """OpenAI Chat Completions ``tools`` entries (function calling)."""
    return [
        {"type": "function", "function": {"name": s.name, "description": s.description, "parameters": s.parameters}}
        for s in specs
    ]


def to_anthropic(specs: Iterable[ToolSpec]) -> list[dict[str, Any]]:
    """Anthropic Messages API ``tools`` entries (native tool use)."""
    return [{"name": s.name, "description": s.description, "input_schema": s.parameters} for s in specs]


def to_text(specs: Iterable[ToolSpec]) -> str:
    """A compact plain-text tool list for prompts and docs."""
    lines = []
    for spec in specs:
        args = ", ".join([*spec.required, *(f"{name}?" for name in spec.optional)])
        lines.append(f"- {spec.name}({args}) [{spec.kind.value}]: {spec.summary}")
    return "\n".join(lines)
