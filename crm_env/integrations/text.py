"""``CrmTextSession``: ArcCrm-v0 as text in, text out, the one core every RL-trainer adapter wraps.

A trainer's model writes text; the session turns each output into one env action and answers with the next
text the model should read: the tool's result after a call, the user's next message after a reply (the
turn then ends and its reward is given), nothing once the conversation is over. No episode logic lives
here: the env (``CrmEnv``) decides everything, the session only translates.

Model outputs accepted (anything else reaches the env as written, which reports it as an error the model
can read, changes nothing and spends one unit of the turn's tool-call budget, exactly as in the env):

- the env's own JSON actions: ``{"tool": NAME, "arguments": {...}}`` or ``{"respond": TEXT}``;
- an OpenAI tool call: ``{"type": "function", "function": {"name": NAME, "arguments": "<JSON text>"}}``,
  the same without ``type``, ``{"name": NAME, "arguments": ...}``, or a list holding exactly one of them;
- either as a dict or as JSON text, optionally inside one Markdown code fence.

Observations stay compact so that ten turns fit a trainer's completion budget: the env runs with the
``counts`` state view, and a tool result longer than ``max_result_chars`` is cut with a marker saying
how much was left out. Nothing a model sends makes ``step`` raise.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from crm_env.envs.env import CrmEnv

MAX_RESULT_CHARS = 4000
TRUNCATION_MARKER = " …[truncated: {left} more characters]"
RewardKind = Literal["strict", "mean_turn"]


@dataclass(frozen=True)
class TextStep:
    """What one model output led to."""

    text: str  # the next text for the model: a tool result, the user's next message, or "" at the end
    role: Literal["tool", "user", "end"]
    reward: float | None  # the turn's reward when this output ended a turn, else None
    done: bool
    breakdown: dict[str, Any] | None = None  # the turn's reward breakdown when it ended
    observation: dict[str, Any] = field(default_factory=dict)  # the env's full observation
    info: dict[str, Any] = field(default_factory=dict)


class CrmTextSession:
    """One conversation at a time of ``ArcCrm-v0``, as text (see the module docstring).

    Args:
        dataset, split, backend: As for ``CrmEnv``.
        max_result_chars: A longer tool result is cut, with a marker.
        reward_mode: The env's turn reward: ``"success"`` (1.0 / 0.0) or ``"shaped"``.
        env: An env to drive instead of building one (its own options then apply).
        **env_kwargs: Any other ``CrmEnv`` argument (``max_tool_calls``, ``judge``...).
    """

    def __init__(self, dataset: Any = "arc-crm-1200", split: str | None = "eval-400", backend: str = "memory", *,
                 max_result_chars: int = MAX_RESULT_CHARS, reward_mode: str = "success", env: CrmEnv | None = None,
                 **env_kwargs: Any) -> None:
        env_kwargs.setdefault("state_view", "counts")
        self.env = env if env is not None else CrmEnv(dataset=dataset, split=split, backend=backend,
                                                      reward_mode=reward_mode, **env_kwargs)
        self.max_result_chars = max_result_chars
        self.turn_rewards: list[float] = []
        self.turn_successes: list[bool] = []
        self.observation: dict[str, Any] = {}
        self.done = True

    @property
    def conversation_id(self) -> str | None:
        conv = getattr(self.env, "_conv", None)
        return conv.conversation_id if conv is not None else None

    def start(self, conversation_id: str | None = None, seed: int | None = None) -> str:
        """Start a conversation (by id, else the one ``seed`` picks, else the next); returns the first message.

        Raises:
            ConfigError: No conversation has that id.
        """
        options = {"conversation_id": conversation_id} if conversation_id is not None else None
        self.observation, _ = self.env.reset(seed=seed, options=options)
        self.turn_rewards, self.turn_successes, self.done = [], [], False
        return str(self.observation["user_message"])

    def step(self, output: Any) -> TextStep:
        """Play one model output (a tool call or a reply); never raises for what the model wrote."""
        if self.done:
            return TextStep("", "end", None, True, info={"error": "the conversation has ended: start another"})
        self.observation, reward, terminated, truncated, info = self.env.step(to_action(output))
        self.done = bool(terminated or truncated)
        ended = "reward_breakdown" in info
        if ended:
            self.turn_rewards.append(float(reward))
            self.turn_successes.append(bool(info["turn_success"]))
        if self.done:
            text, role = "", "end"
        elif ended:
            text, role = str(self.observation["user_message"]), "user"
        else:
            text, role = self._cut(str(self.observation["last_result"])), "tool"
        return TextStep(text, role, float(reward) if ended else None, self.done,
                        info.get("reward_breakdown"), self.observation, info)

    def reward(self, kind: RewardKind = "strict") -> float:
        """The episode's reward so far: ``strict`` (1.0 when every turn succeeded and the conversation is
        over, else 0.0) or ``mean_turn`` (the mean of the turn rewards; 0.0 before any turn ended)."""
        if kind == "strict":
            return float(self.done and bool(self.turn_successes) and all(self.turn_successes))
        return sum(self.turn_rewards) / len(self.turn_rewards) if self.turn_rewards else 0.0

    def _cut(self, text: str) -> str:
        if len(text) <= self.max_result_chars:
            return text
        return text[:self.max_result_chars] + TRUNCATION_MARKER.format(left=len(text) - self.max_result_chars)

    def close(self) -> None:
        """Release the env (and its database connection)."""
        self.env.close()


def to_action(output: Any) -> Any:
    """A model output as the env's action (see the module docstring); what is not understood is returned
    as it came, for the env to report."""
    value = output
    if isinstance(output, str):
        try:
            value = json.loads(_unfenced(output))
        except ValueError:
            return output
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not isinstance(value, Mapping):
        return output
    call = value.get("function") if isinstance(value.get("function"), Mapping) else value
    if "name" in call and "tool" not in call and "respond" not in call:
        arguments = call.get("arguments", {})
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except ValueError:
                pass  # the env reports arguments that are not a JSON object
        return {"tool": call["name"], "arguments": arguments}
    return dict(value)


def _unfenced(text: str) -> str:
    """The text inside one surrounding Markdown code fence (```json ... ```), else the text."""
    stripped = text.strip()
    if stripped.startswith("```") and stripped.endswith("```") and stripped.count("```") == 2:
        body = stripped[3:-3]
        return body.split("\n", 1)[1] if "\n" in body and not body.lstrip().startswith(("{", "[")) else body
    return stripped


def prompt_rows(dataset: Any = "arc-crm-1200", split: str | None = "train", *, seed: int = 0,
                limit: int | None = None, native_tools: bool = True) -> list[dict[str, Any]]:
    """One row per conversation: ``prompt`` (the agents' system prompt, with the tools spelled out and the
    JSON action format unless ``native_tools``, then the first user message), ``conversation_id`` and
    ``seed`` (``seed + i``: the ids a trainer's group of completions shares)."""
    from crm_env.agents.prompt import system_prompt
    from crm_env.envs.conversations import load_conversations

    conversations = load_conversations(dataset, split)[:limit]
    return [{"prompt": [{"role": "system", "content": system_prompt(native_tools=native_tools)},
                        {"role": "user", "content": conv.turns[0].utterance}],
             "conversation_id": conv.conversation_id, "seed": seed + i}
            for i, conv in enumerate(conversations)]
