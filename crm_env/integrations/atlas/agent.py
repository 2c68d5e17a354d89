"""A ``crm_env`` student agent in the shape the Atlas SDK's discovery runtime drives (``AtlasAgentProtocol``:
``plan``, ``act``, ``summarize``).

``plan`` reads the conversation id from the first observation of ``AtlasCrmEnvironment`` and resets the
student on it; ``act`` hands the student each observation and returns its action (JSON text the
environment's ``step`` takes as is); ``summarize`` says how the conversation went. Offline students
(``scripted``, ``replay``) are SIMULATED: they read the dataset's reference, so the plan says so and
nothing they do supports a claim about a model. Telemetry goes to Atlas's emitter when it gives one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from crm_env.errors import ConfigError
from crm_env.integrations.atlas.markers import agent


@agent
class AtlasCrmAgent:
    """A student from ``crm_env.agents.build_agent`` for Atlas (see the module docstring).

    Args:
        kind: ``scripted`` (default, simulated), ``replay`` (the oracle, simulated), ``claude`` or ``openai``.
        model, base_url, timeout: For the LLM students (keys from ``$ANTHROPIC_API_KEY`` / ``$OPENAI_API_KEY``).
        dataset, split: Where the offline students find the conversations (the environment's).
        seed: The scripted student's seed.
    """

    def __init__(self, kind: str = "scripted", model: str | None = None, base_url: str | None = None,
                 dataset: str = "arc-crm-1200", split: str | None = "train", seed: int = 0,
                 timeout: float = 60.0) -> None:
        from crm_env.agents import build_agent

        conversations = None
        if kind in ("scripted", "replay"):
            from crm_env.datasets import load

            conversations = load(dataset, split=split)
        self.agent = build_agent(kind, conversations=conversations, model=model, base_url=base_url, seed=seed,
                                 timeout=float(timeout))
        self.steps = 0

    @staticmethod
    def _observation(observation: Any) -> dict[str, Any]:
        try:
            parsed = json.loads(observation) if isinstance(observation, str) else observation
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict) or "conversation_id" not in parsed:
            raise ConfigError("the crm_env agent reads the observations of AtlasCrmEnvironment "
                              "(crm_env.integrations.atlas:create_environment); pair it with that environment")
        return parsed

    def plan(self, task: str, observation: Any, *, emit_event: Any = None) -> dict[str, Any]:
        conversation_id = str(self._observation(observation)["conversation_id"])
        self.agent.reset(conversation_id)
        self.steps = 0
        plan = {"conversation_id": conversation_id, "student": self.agent.name,
                "simulated": bool(self.agent.simulated),
                "approach": "answer each user turn with CRM tool calls, then reply to the user"}
        if emit_event is not None:
            emit_event.emit("crm_plan", plan)
        return plan

    def act(self, context: Any, *, emit_event: Any = None) -> str:
        action = self.agent.act(self._observation(context.observation))
        self.steps += 1
        if emit_event is not None:
            emit_event.emit("crm_action", {"step": self.steps, "action": action})
        return action

    def summarize(self, context: Any, *, history: Iterable[Any] | None = None, emit_event: Any = None) -> str:
        observation = self._observation(context.observation)
        rewards = [h.reward for h in (history or ()) if getattr(h, "reward", None) is not None]
        return (f"conversation {observation['conversation_id']}: {self.steps} step(s), turn rewards "
                f"{sum(rewards):g} in all" + (" (SIMULATED student)" if self.agent.simulated else ""))
