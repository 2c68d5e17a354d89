"""The agent protocol: observation in, action text out.

An agent keeps its own message history between ``reset`` calls and never reads reference data from
the environment. Each LLM request it makes is recorded as an ``LlmCall`` so the runner can account
tokens, cost and latency per role.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from crm_env.providers.usage import LlmCall  # re-exported: part of the agent protocol

Observation = Mapping[str, Any]

__all__ = ["SUPERVISOR_REJECTED", "Agent", "LlmCall", "Observation", "OfflineAgent"]
# The ``error_type`` of a result a supervisor returns in place of a write it stopped before the CRM saw it
# (``crm_env.learning.supervised``); the result's ``guidance`` says what to do instead.
SUPERVISOR_REJECTED = "supervisor_rejected"


@runtime_checkable
class Agent(Protocol):
    """What the env runner drives.

    ``act`` receives the env's observation (``user_message``, ``last_result``, ``crm_state``, ``turn``)
    and returns an action: JSON text ``{"tool": NAME, "arguments": {...}}`` or ``{"respond": TEXT}``.
    """

    name: str
    simulated: bool  # True for offline agents that stand in for a model

    def reset(self, conversation_id: str | None = None) -> None:
        """Forget the previous conversation; ``conversation_id`` names the next one."""

    def act(self, observation: Observation) -> str:
        """The next action."""

    async def act_async(self, observation: Observation) -> str:
        """The next action, without blocking the event loop."""

    def drain_calls(self) -> list[LlmCall]:
        """The LLM calls made since the last drain (an offline agent returns none)."""


class OfflineAgent:
    """Base for agents that need no provider: ``act_async`` just runs ``act``."""

    name = "offline"
    simulated = True

    def reset(self, conversation_id: str | None = None) -> None:
        self.conversation_id = conversation_id

    def act(self, observation: Observation) -> str:
        raise NotImplementedError

    async def act_async(self, observation: Observation) -> str:
        return self.act(observation)

    def drain_calls(self) -> list[LlmCall]:
        return []

    def guide(self, instructions: Sequence[str]) -> None:
        """Playbook entries for the next turn (the learning loop's guidance slot); ignored by default."""

