"""SkyRL (extra ``[skyrl]``, ``skyrl-gym`` 0.4): ``CrmSkyRLEnv``, a ``BaseTextEnv`` over ``CrmTextSession``.

SkyRL builds one env per sample with ``skyrl_gym.make(env_class, env_config=..., extras=row)``, calls
``init(prompt)``, then ``step(model_output)`` until ``done``. Here ``extras`` names the sample's
conversation and seed (``make_dataset`` writes them), ``env_config`` the dataset, split, backend and reward
(``reward``: ``"turn"``, each turn's reward on the step that ends it, the default; or ``"strict"``, 1.0 on
the last step when every turn succeeded). Each step's observation is one message: the tool's result
(prefixed ``[tool result]``) or the user's next request; none once the conversation is over.

    from crm_env.integrations.skyrl import register
    register()  # then env_class "arc_crm" in the dataset rows, config under environment.skyrl_gym.arc_crm
"""

from __future__ import annotations

from typing import Any

from skyrl_gym.envs.base_text_env import BaseTextEnv, BaseTextEnvStepOutput

from crm_env.integrations.text import CrmTextSession, prompt_rows

ENV_CLASS = "arc_crm"
TOOL_PREFIX = "[tool result] "


class CrmSkyRLEnv(BaseTextEnv):
    """One ArcCrm-v0 conversation per sample (see the module docstring)."""

    def __init__(self, env_config: Any = None, extras: dict[str, Any] | None = None) -> None:
        super().__init__()
        config = dict(env_config or {})
        extras = dict(extras or {})
        info = dict(extras.get("extra_info") or {})
        self.conversation_id = extras.get("conversation_id", info.get("conversation_id"))
        self.seed = extras.get("seed", info.get("seed"))
        self.reward_kind = config.pop("reward", "turn")
        if self.reward_kind not in ("turn", "strict"):
            raise ValueError(f"env_config reward {self.reward_kind!r}: use 'turn' or 'strict'")
        self.session = CrmTextSession(config.pop("dataset", "arc-crm-1200"), config.pop("split", "train"),
                                      config.pop("backend", "memory"), **config)
        self.max_turns = self.session.env.step_limit

    def init(self, prompt: list[dict[str, str]]) -> tuple[list[dict[str, str]], dict[str, Any]]:
        """Start the sample's conversation; the prompt (from ``make_dataset``) already holds its first message."""
        self.session.start(self.conversation_id, seed=self.seed)
        return prompt, {"conversation_id": self.session.conversation_id}

    def step(self, action: str) -> BaseTextEnvStepOutput:
        self.turns += 1
        step = self.session.step(action)
        if self.reward_kind == "turn":
            reward = step.reward or 0.0
        else:
            reward = self.session.reward("strict") if step.done else 0.0
        observations = [] if step.done else [
            {"role": "user", "content": (TOOL_PREFIX + step.text) if step.role == "tool" else step.text}]
        metadata = {"turn_ended": step.reward is not None, "turn_reward": step.reward,
                    "strict_success": self.session.reward("strict") if step.done else None}
        return BaseTextEnvStepOutput(observations=observations, reward=float(reward), done=step.done,
                                     metadata=metadata, postprocessed_action=None)

    def get_metrics(self) -> dict[str, Any]:
        return {"strict_success": self.session.reward("strict"), "mean_turn_reward": self.session.reward("mean_turn"),
                "turns": len(self.session.turn_rewards)}

    def close(self) -> None:
        """Release the env and its database connection."""
        self.session.close()


def register(env_class: str = ENV_CLASS) -> None:
    """Register ``CrmSkyRLEnv`` with ``skyrl_gym`` under ``env_class`` (once; again is a no-op)."""
    import skyrl_gym

    if env_class not in skyrl_gym.registry:
        skyrl_gym.register(id=env_class, entry_point="crm_env.integrations.skyrl:CrmSkyRLEnv")


def make_dataset(dataset: Any = "arc-crm-1200", split: str | None = "train", *, seed: int = 0,
                 limit: int | None = None, env_class: str = ENV_CLASS) -> list[dict[str, Any]]:
    """SkyRL sample rows: ``prompt`` (the system prompt with the tools and the JSON action format, then the
    first user message), ``env_class``, and the ``conversation_id`` and ``seed`` that ``CrmSkyRLEnv``
    starts the same conversation with."""
    return [{**row, "env_class": env_class, "data_source": "arc-crm"}
            for row in prompt_rows(dataset, split, seed=seed, limit=limit, native_tools=False)]
