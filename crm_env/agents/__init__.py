"""Agents that play ``ArcCrm-v0``: replay (oracle), scripted (fallible, offline), Claude and OpenAI.

``build_agent`` makes any of them from plain configuration (the evaluation runner and the CLI use it).
LLM agents are imported lazily, so the offline agents work without touching the provider SDKs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from crm_env.agents.base import Agent, LlmCall, OfflineAgent
from crm_env.agents.replay import ReplayAgent
from crm_env.agents.scripted import MistakeRates, ScriptedAgent
from crm_env.errors import ConfigError
from crm_env.providers.retry import RetryPolicy

if TYPE_CHECKING:
    from crm_env.agents.anthropic_agent import ClaudeAgent
    from crm_env.agents.openai_agent import OpenAIAgent
    from crm_env.datasets.format import Conversation

AGENT_KINDS: tuple[str, ...] = ("replay", "scripted", "claude", "openai")


def build_agent(
    kind: str,
    *,
    conversations: Iterable[Conversation] | None = None,
    model: str | None = None,
    base_url: str | None = None,
    temperature: float = 0.0,
    max_output_tokens: int = 800,
    seed: int = 0,
    rates: MistakeRates | dict[str, float] | None = None,
    timeout: float = 60.0,
    retry: RetryPolicy | None = None,
) -> Agent:
    """An agent of the given kind.

    Args:
        kind: ``replay``, ``scripted``, ``claude`` or ``openai``.
        conversations: The dataset's conversations (required by ``replay`` and ``scripted``).
        model: Provider model (each LLM agent has a default; ignored by offline agents).
        base_url: Provider endpoint: any OpenAI-compatible server for ``openai`` (no key needed then).
        temperature: Sampling temperature of LLM agents.
        max_output_tokens: Output token cap per LLM request.
        seed: Seeds the scripted agent's mistakes and the LLM agents' retry jitter.
        rates: Mistake rates of the scripted agent (a ``MistakeRates`` or a dict of its fields).
        timeout: Seconds per LLM request.
        retry: Retry policy of LLM agents.

    Raises:
        ConfigError: Unknown kind, missing conversations, bad rates, or a missing API key (the error
            names the environment variable).
    """
    if kind in ("replay", "scripted"):
        if conversations is None:
            raise ConfigError(f"the {kind} agent needs the dataset's conversations")
        if kind == "replay":
            return ReplayAgent(conversations)
        if isinstance(rates, dict):
            try:
                rates = MistakeRates(**rates)
            except TypeError as exc:
                raise ConfigError(f"bad mistake rates: {exc}") from None
        return ScriptedAgent(conversations, rates=rates, seed=seed)
    options: dict[str, Any] = {"base_url": base_url, "temperature": temperature,
                               "max_output_tokens": max_output_tokens, "timeout": timeout, "retry": retry, "seed": seed}
    if kind == "claude":
        from crm_env.agents.anthropic_agent import DEFAULT_MODEL, ClaudeAgent

        return ClaudeAgent(model or DEFAULT_MODEL, **options)
    if kind == "openai":
        from crm_env.agents.openai_agent import DEFAULT_MODEL as OPENAI_DEFAULT
        from crm_env.agents.openai_agent import OpenAIAgent

        return OpenAIAgent(model or OPENAI_DEFAULT, **options)
    raise ConfigError(f"unknown agent kind {kind!r}; use one of {', '.join(AGENT_KINDS)}")


def __getattr__(name: str) -> Any:
    if name == "ClaudeAgent":
        from crm_env.agents.anthropic_agent import ClaudeAgent

        return ClaudeAgent
    if name == "OpenAIAgent":
        from crm_env.agents.openai_agent import OpenAIAgent

        return OpenAIAgent
    raise AttributeError(name)


__all__ = [
    "AGENT_KINDS",
    "Agent",
    "ClaudeAgent",
    "LlmCall",
    "MistakeRates",
    "OfflineAgent",
    "OpenAIAgent",
    "ReplayAgent",
    "RetryPolicy",
    "ScriptedAgent",
    "build_agent",
]
