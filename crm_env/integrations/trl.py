"""TRL (extra ``[trl]``): ``CrmToolEnv`` for ``GRPOTrainer(environment_factory=...)``.

TRL builds one environment per rollout from a no-argument factory, calls ``reset(**row)`` with the dataset
row before generating, exposes every public method of the environment's class as a tool (its JSON schema
is read from the method's type hints and Google-style docstring by ``transformers.utils.get_json_schema``)
and scores the finished rollout with ``get_reward()``. Here each catalog tool is such a method, generated
from the catalog (never a second hand-written list), plus ``respond(message)``, which ends the turn and
returns the user's next message. Everything goes through ``CrmTextSession``; nothing here imports TRL.

    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer
    from crm_env.integrations.trl import make_dataset, make_factory

    trainer = GRPOTrainer(model="Qwen/Qwen3-1.7B", args=GRPOConfig(...),
                          train_dataset=Dataset.from_list(make_dataset(split="train")),
                          environment_factory=make_factory(split="train"))
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable
from typing import Any

from crm_env.integrations.text import CrmTextSession, RewardKind, prompt_rows
from crm_env.tools import catalog

TURN_SPENT = "(Your tool-call budget for this request is spent: the turn has ended.) The user now says: "
CONVERSATION_OVER = "(The conversation is over: nothing more to do.)"
_JSON_TYPES: dict[str, Any] = {"string": str, "integer": int, "number": float, "boolean": bool, "object": dict}


class CrmToolEnv:
    """One ArcCrm-v0 conversation per rollout, its CRM tools as methods (see the module docstring).

    Args:
        dataset, split, backend: As for ``CrmEnv`` (default: the ``train`` split, in memory).
        reward: What ``get_reward`` returns: ``"strict"`` (1.0 when every turn succeeded) or
            ``"mean_turn"`` (the mean turn reward; with ``reward_mode="shaped"``, of the shaped rewards).
        **session_kwargs: Any other ``CrmTextSession`` / ``CrmEnv`` argument.
    """

    def __init__(self, dataset: Any = "arc-crm-1200", split: str | None = "train", backend: str = "memory", *,
                 reward: RewardKind = "strict", **session_kwargs: Any) -> None:
        self._session = CrmTextSession(dataset, split, backend, **session_kwargs)
        self._reward = reward

    def reset(self, conversation_id: str | None = None, seed: int | None = None, **row: Any) -> None:
        """Start the row's conversation with the row's seed (every completion of a group sees the same ids)."""
        self._session.start(conversation_id, seed=seed)

    def get_reward(self) -> float:
        """The rollout's reward (see ``reward``)."""
        return self._session.reward(self._reward)

    def respond(self, message: str) -> str:
        """Reply to the user. This ends your turn: the user's next request comes back.

        Args:
            message: Your reply to the user: what you did or found, with its key facts (names, amounts, counts,
                statuses, dates), or why the request cannot be carried out.

        Returns:
            The user's next message, or a note that the conversation is over.
        """
        step = self._session.step({"respond": message})
        return CONVERSATION_OVER if step.done else step.text

    def _call(self, tool: str, arguments: dict[str, Any]) -> str:
        step = self._session.step({"tool": tool, "arguments": arguments})
        if step.done:
            return CONVERSATION_OVER
        return TURN_SPENT + step.text if step.role == "user" else step.text

    def _close(self) -> None:
        """Release the env (and its database connection); private, so TRL does not offer it as a tool."""
        self._session.close()


def _annotation(schema: dict[str, Any]) -> Any:
    if schema.get("type") == "array":
        return list[_annotation(schema.get("items", {}))]
    return _JSON_TYPES.get(schema.get("type", "string"), str)


def _docstring(spec: Any) -> str:
    lines = [spec.description.strip(), "", "Args:"]
    for name, schema in spec.parameters.get("properties", {}).items():
        text = " ".join(str(schema.get("description", name)).split())
        if "enum" in schema:
            text += f" (choices: {json.dumps(schema['enum'])})"
        lines.append(f"    {name}: {text}")
    lines += ["", "Returns:", "    The tool's result, or an error saying how to fix the call, as JSON text."]
    return "\n".join(lines)


def _tool_method(spec: Any) -> Callable[..., str]:
    """A method calling the catalog tool ``spec``, typed and documented from its JSON schema."""
    def method(self: CrmToolEnv, **arguments: Any) -> str:
        return self._call(spec.name, arguments)

    properties = spec.parameters.get("properties", {})
    required = set(spec.required)
    parameters = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    annotations: dict[str, Any] = {}
    for name, schema in properties.items():
        kind = _annotation(schema)
        annotations[name] = kind if name in required else kind | None
        parameters.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotations[name],
                                            default=inspect.Parameter.empty if name in required else None))
    annotations["return"] = str
    method.__name__ = method.__qualname__ = spec.name
    method.__doc__ = _docstring(spec)
    method.__annotations__ = annotations
    method.__signature__ = inspect.Signature(parameters, return_annotation=str)  # type: ignore[attr-defined]
    method.__module__ = __name__
    return method


for _spec in catalog():
    if hasattr(CrmToolEnv, _spec.name):
        raise RuntimeError(f"catalog tool {_spec.name!r} clashes with a CrmToolEnv method")
    setattr(CrmToolEnv, _spec.name, _tool_method(_spec))


def make_factory(**kwargs: Any) -> Callable[[], CrmToolEnv]:
    """A picklable no-argument factory of ``CrmToolEnv(**kwargs)`` for ``environment_factory``."""
    return functools.partial(CrmToolEnv, **kwargs)


def make_dataset(dataset: Any = "arc-crm-1200", split: str | None = "train", *, seed: int = 0,
                 limit: int | None = None) -> list[dict[str, Any]]:
    """Prompt rows for ``GRPOTrainer``: the system prompt (tools given natively, as TRL does) and the first
    user message (``prompt``), and the ``conversation_id`` and ``seed`` that ``CrmToolEnv.reset`` starts the
    same conversation with."""
    return prompt_rows(dataset, split, seed=seed, limit=limit, native_tools=True)
