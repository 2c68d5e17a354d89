"""Playing one labelled trajectory through ``CrmEnv.reset`` / ``step`` only.

An episode of the conversation is played by the oracle (gold calls, a plain-English reply) up to the
*target* turn, where the family's policy acts instead (``TurnPlay``: call tools, read their results, reply);
the verdict read is the env's own for the target turn, or for the turn after it when the family is about
what a turn leaves for the next one (cross-turn references).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from crm_env.agents.names import NameBook
from crm_env.datasets.format import Conversation
from crm_env.envs.env import CrmEnv
from crm_env.envs.oracle import oracle_reply


def scalars(data: Any, out: list[Any]) -> None:
    """Every string and number inside a tool result, in order."""
    if isinstance(data, dict):
        for value in data.values():
            scalars(value, out)
    elif isinstance(data, list):
        for value in data:
            scalars(value, out)
    elif isinstance(data, str | int | float) and not isinstance(data, bool):
        out.append(data)


class EpisodeOver(Exception):
    """The env ended the turn (tool-call budget) or the episode before the policy replied."""


@dataclass
class TurnPlay:
    """One turn as a policy plays it: ``call`` tools, then ``respond`` once."""

    env: CrmEnv
    conversation: Conversation
    key: str
    request: str
    reference: dict[str, Any]
    seen: list[Any]  # the values tool results showed earlier in the episode
    names: NameBook
    results: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    obs: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    done: bool = False
    memo: dict[str, Any] = field(default_factory=dict)  # shared by a family's target turn and the next

    def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Call a tool; its result (``{"ok": ..., "data" | "error": ...}``)."""
        action = {"tool": tool, "arguments": arguments}
        self.actions.append(action)
        self.obs, _, terminated, truncated, self.info = self.env.step(json.dumps(action, default=str))
        if "reward_breakdown" in self.info or terminated or truncated:
            self.done = terminated or truncated
            raise EpisodeOver("the turn ended before the reply (tool-call budget)")
        result = json.loads(self.obs["last_result"])
        self.results.append(result)
        if result.get("ok"):
            self.names.learn(result.get("data"))
        else:
            self.errors.append(str(result.get("error", "")))
        return result

    def gold(self) -> list[dict[str, Any]]:
        """Make the turn's reference calls; their results."""
        return [self.call(c["tool"], c["arguments"]) for c in self.reference["gold_calls"]]

    def oracle(self) -> str:
        """The correct reply to what was done so far (the oracle's plain English)."""
        return oracle_reply(self.reference, self.errors, self.results, self.names, self.request, self.key)

    def shown(self) -> list[Any]:
        """The values this turn's successful results showed."""
        out: list[Any] = []
        for result in self.results:
            if result.get("ok"):
                scalars(result.get("data"), out)
        return out

    def respond(self, text: str) -> None:
        self.actions.append({"respond": text})
        self.obs, _, terminated, truncated, self.info = self.env.step(json.dumps({"respond": text}))
        self.done = terminated or truncated


Policy = Callable[[TurnPlay], None]


@dataclass(frozen=True)
class Played:
    """What a trajectory did on the judged turn and the env's verdict of it."""

    actions: list[dict[str, Any]]
    success: bool
    undecided: tuple[str, ...]  # components the deterministic checks left undecided
    breakdown: dict[str, Any]
    judged_turn: int


def play(env: CrmEnv, conversation: Conversation, target: int, policy: Policy, judge_next: bool = False,
         seed: int = 0, then: Policy | None = None) -> Played:
    """The oracle up to turn index ``target``, ``policy`` on it; the verdict of that turn (or of the next,
    played by ``then`` or the oracle).

    ``env`` must be built with ``reveal_reference=True``.
    """
    obs, info = env.reset(seed=seed, options={"conversation_id": conversation.conversation_id})
    names = NameBook()
    seen: list[Any] = []
    memo: dict[str, Any] = {}
    index = 0
    while True:
        reference = info["reference"]
        turn = TurnPlay(env, conversation, f"{conversation.conversation_id}:{reference['turn_id']}",
                        str(obs["user_message"]), reference, list(seen), names, obs=obs, memo=memo)
        names.begin_turn(turn.request)
        try:
            if index == target:
                policy(turn)
            elif index == target + 1 and then is not None:
                then(turn)
            else:
                turn.gold()
                turn.respond(turn.oracle())
        except EpisodeOver:
            pass
        if index == target + judge_next or turn.done or "reward_breakdown" not in turn.info:
            break
        seen += turn.shown()
        obs, info = turn.obs, turn.info
        index += 1
    breakdown = turn.info.get("reward_breakdown", {})
    undecided = tuple(name for name, c in breakdown.items() if c.get("status") == "undecided")
    return Played(turn.actions, bool(turn.info.get("turn_success", False)), undecided, breakdown,
                  int(reference["turn_id"]))
