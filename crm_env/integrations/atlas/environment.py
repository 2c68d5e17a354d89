"""``ArcCrm-v0`` in the shape the Atlas SDK's discovery runtime drives (``AtlasEnvironmentProtocol``).

Atlas calls ``reset(task=...)`` with a keyword and ``step(action, submit=...)`` and expects a 4-tuple
``(observation, reward, done, info)``; a Gymnasium env passes its ``isinstance`` check and then fails on
both, hence this shim. It imports nothing of Atlas (the protocols are structural).

- ``reset(task=None)``: ``task`` is a conversation id, or a JSON object ``{"dataset": ..., "split": ...,
  "conversation_id": ...}`` (each key optional); None (or ``"next"``) plays the next conversation of the
  split in a seeded order. Anything else is refused with a ``ValueError`` that says what a task is.
- ``step(action, submit=False)``: ``action`` is our action (``{"tool": ..., "arguments": {...}}`` or
  ``{"respond": "..."}``, as JSON text or a dict). With ``submit=True`` a plain text is the reply to the
  user. Returns the observation text, the env's reward, ``done = terminated or truncated`` and the env's
  ``info`` (the reward breakdown on the step that ends a turn), JSON-safe.
- The observation is JSON text: ``conversation_id``, ``turn``, ``user_message``, ``last_result`` and
  ``crm_state`` (record counts). Nothing of the reference (gold calls, expected replies) is in it.
"""

from __future__ import annotations

import json
import random
from typing import Any

from crm_env.envs.env import CrmEnv
from crm_env.errors import ConfigError
from crm_env.integrations.atlas.markers import environment

TASK_HELP = ('a task is a conversation id (such as "arc-1200-00001"), "next", or a JSON object '
             '{"dataset": NAME, "split": SPLIT, "conversation_id": ID}')


@environment
class AtlasCrmEnvironment:
    """The CRM environment for Atlas (see the module docstring).

    Args:
        dataset: A packaged dataset name or a JSONL path.
        split: Its split (``train`` by default; the held-out ``test`` split is refused by the loader).
        backend: ``memory`` (default), ``sqlite:///...`` or ``postgresql+psycopg://...``.
        seed: Orders the conversations that ``reset()`` without a task walks through.
    """

    def __init__(self, dataset: str = "arc-crm-1200", split: str | None = "train", backend: str = "memory",
                 seed: int = 0) -> None:
        self.backend = backend
        self.seed = seed
        self._open(dataset, split)

    def _open(self, dataset: str, split: str | None) -> None:
        """Switch to ``dataset:split`` (a bad one raises and leaves the current one in place)."""
        env = CrmEnv(dataset=dataset, split=split, backend=self.backend, state_view="counts", conversation_seed=None)
        if hasattr(self, "env"):
            self.env.close()
        self.env, self.dataset, self.split = env, dataset, split
        self._ids = {c.conversation_id for c in self.env.conversations}
        self._order = sorted(self._ids)
        random.Random(self.seed).shuffle(self._order)
        self._next = 0
        self.conversation_id: str | None = None

    def reset(self, task: str | None = None) -> str:
        conversation_id = self._task(task)
        obs, _ = self.env.reset(options={"conversation_id": conversation_id})
        self.conversation_id = conversation_id
        return self._text(obs)

    def _task(self, task: str | None) -> str:
        if task is None or task.strip().lower() == "next":
            conversation_id = self._order[self._next % len(self._order)]
            self._next += 1
            return conversation_id
        text = task.strip()
        if text.startswith("{"):
            try:
                spec = json.loads(text)
            except ValueError as exc:
                raise ValueError(f"task {text[:80]!r} is not valid JSON ({exc}); {TASK_HELP}") from None
            if not isinstance(spec, dict) or not set(spec) <= {"dataset", "split", "conversation_id"}:
                raise ValueError(f"task {text[:80]!r}: {TASK_HELP}")
            dataset, split = spec.get("dataset", self.dataset), spec.get("split", self.split)
            if (dataset, split) != (self.dataset, self.split):
                self._open(dataset, split)
            return self._task(spec.get("conversation_id"))
        if text not in self._ids:
            raise ValueError(f"task {text[:80]!r} is not a conversation of {self.dataset}"
                             f"{':' + self.split if self.split else ''}; {TASK_HELP}")
        return text

    def step(self, action: Any, submit: bool = False) -> tuple[str, float, bool, dict[str, Any]]:
        if self.conversation_id is None:
            raise ConfigError("call reset(task) before step(action)")
        if submit and isinstance(action, str) and not action.lstrip().startswith("{"):
            action = {"respond": action}
        obs, reward, terminated, truncated, info = self.env.step(
            action if isinstance(action, str) else json.dumps(action, default=str))
        return self._text(obs), float(reward), bool(terminated or truncated), json.loads(json.dumps(info, default=str))

    def _text(self, obs: dict[str, Any]) -> str:
        return json.dumps({"conversation_id": self.conversation_id, "turn": int(obs["turn"]),
                           "user_message": obs["user_message"], "last_result": obs["last_result"] or None,
                           "crm_state": obs["crm_state"]}, default=str)

    def close(self) -> None:
        self.env.close()
