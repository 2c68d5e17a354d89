"""The replay (oracle) agent: plays each turn's gold calls and a correct reply.

It is built from the dataset's conversations and looks the conversation up by id at ``reset``; it never
reads the env's reference data (``info["reference"]``). Cross-turn references (``{{turn_N.field}}``)
resolve against ITS OWN earlier results, exactly as a real agent's ids would flow between turns.

``ReplayAgent`` is also the skeleton of the scripted agent: a turn is a queue of planned actions
(``_plan``) followed by a reply (``_reply``); subclasses change the plan.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from crm_env.agents.base import Observation, OfflineAgent
from crm_env.agents.names import NameBook
from crm_env.agents.phrasing import compose
from crm_env.agents.reply_view import ReplyContext
from crm_env.datasets.format import REFERENCE, Conversation, Turn, bindings_from
from crm_env.errors import ConfigError
from crm_env.schema.enums import ToolKind
from crm_env.tools import get_spec

GOLD = "gold"  # marks a planned call as one of the turn's gold calls


@dataclass
class TurnState:
    """What the agent knows about the turn it is playing."""

    turn: Turn
    calls: list[dict[str, Any]]  # the gold calls, references resolved against the agent's own results
    queue: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (tag, action) still to play
    reply_mode: str = "full"  # "full", "bare" (no facts), "error", "give_up"
    results: list[dict[str, Any]] = field(default_factory=list)  # every result seen this turn
    gold_results: list[dict[str, Any]] = field(default_factory=list)
    last_tag: str | None = None


def resolve_lenient(value: Any, bindings: Mapping[int, Mapping[str, Any]]) -> Any:
    """Replace ``{{turn_N.field}}`` by what turn N produced; an unknown reference stays as written (the
    call then fails in the env, as it would for a model that lost track of a record)."""
    if isinstance(value, str):
        if "{{" not in value:
            return value
        whole = REFERENCE.fullmatch(value)
        if whole:
            return bindings.get(int(whole.group(1)), {}).get(whole.group(2), value)
        return REFERENCE.sub(lambda m: str(bindings.get(int(m.group(1)), {}).get(m.group(2), m.group(0))), value)
    if isinstance(value, Mapping):
        return {k: resolve_lenient(v, bindings) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_lenient(v, bindings) for v in value]
    return value


def turn_bindings(results: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The fields a finished turn exposes to later ones: its write results outrank its reads."""
    ok = [r for r in results if r.get("ok") and isinstance(r.get("tool"), str)]
    kinds = []
    for r in ok:
        try:
            kinds.append(get_spec(r["tool"]).kind)
        except Exception:  # noqa: BLE001 - an unknown tool name cannot have succeeded; be tolerant anyway
            kinds.append(None)
    writes = [r.get("data") for r, k in zip(ok, kinds, strict=True) if k is ToolKind.WRITE]
    reads = [r.get("data") for r, k in zip(ok, kinds, strict=True) if k is ToolKind.READ]
    return bindings_from(writes + reads)


def action_text(action: Mapping[str, Any]) -> str:
    return json.dumps(action, default=str)


class ReplayAgent(OfflineAgent):
    """Plays the dataset's gold calls and replies, in plain English, with the turn's facts (the oracle).

    Args:
        conversations: The conversations it may be asked to play (looked up by id at ``reset``).
    """

    name = "replay"
    simulated = True

    def __init__(self, conversations: Iterable[Conversation]) -> None:
        self._by_id = {c.conversation_id: c for c in conversations}
        if not self._by_id:
            raise ConfigError("the replay agent needs the dataset's conversations")
        self.conversation_id: str | None = None
        self._conv: Conversation | None = None
        self._state: TurnState | None = None
        self._turn_index = -1
        self._bindings: dict[int, dict[str, Any]] = {}
        self._names = NameBook()
        self._utterance = ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(conversations={len(self._by_id)})"

    # ------------------------------------------------------------------ protocol
    def reset(self, conversation_id: str | None = None) -> None:
        if conversation_id is None:
            raise ConfigError(f"the {self.name} agent must be told the conversation id at reset")
        conv = self._by_id.get(conversation_id)
        if conv is None:
            raise ConfigError(f"the {self.name} agent has no conversation {conversation_id!r}")
        self.conversation_id = conversation_id
        self._conv = conv
        self._state = None
        self._turn_index = -1
        self._bindings = {}
        self._names = NameBook(conv.initial_records)
        self._start_episode(conv)

    def witness(self, observation: Observation) -> None:
        """See an observation another actor answers (the ``escalate`` lane): the turns and results it
        holds feed this agent's names and cross-turn references as if it had played them."""
        if self._conv is None:
            raise RuntimeError(f"call reset(conversation_id) on the {self.name} agent before act()")
        turn_index = int(observation.get("turn", 0))
        if self._state is None or turn_index != self._turn_index:
            self._finish_turn()
            self._utterance = str(observation.get("user_message") or "")
            self._names.begin_turn(self._utterance)
            self._begin_turn(turn_index)
        else:
            self._observe(observation.get("last_result") or "{}")

    def act(self, observation: Observation) -> str:
        self.witness(observation)
        state = self._state
        assert state is not None
        if state.queue:
            tag, action = state.queue.pop(0)
            state.last_tag = tag
            return action_text(self._materialise(state, tag, action))
        return action_text({"respond": self._reply(state)})

    # ------------------------------------------------------------------ turns
    def _start_episode(self, conv: Conversation) -> None:
        """Hook for subclasses (e.g. seeding a per-conversation generator)."""

    def _begin_turn(self, turn_index: int) -> None:
        assert self._conv is not None
        if not 0 <= turn_index < len(self._conv.turns):
            raise RuntimeError(f"observation names turn {turn_index}; the conversation has {len(self._conv.turns)}")
        self._turn_index = turn_index
        turn = self._conv.turns[turn_index]
        calls = [{"tool": c.tool, "arguments": resolve_lenient(c.arguments, self._bindings)} for c in turn.gold_calls]
        self._state = TurnState(turn=turn, calls=calls)
        self._plan(self._state)

    def _finish_turn(self) -> None:
        if self._state is not None:
            self._bindings[self._state.turn.turn_id] = turn_bindings(self._state.results)
            self._state = None

    def _observe(self, last_result: str) -> None:
        state = self._state
        assert state is not None
        try:
            result = json.loads(last_result)
        except ValueError:
            result = {}
        if not isinstance(result, dict) or not result:
            return
        state.results.append(result)
        if result.get("ok"):
            self._names.learn(result.get("data"))
        if state.last_tag == GOLD:
            state.gold_results.append(result)
        self._after_result(state, result)

    def _plan(self, state: TurnState) -> None:
        """Fill ``state.queue`` with the turn's actions; the replay agent plays the gold calls."""
        state.queue = [(GOLD, call) for call in state.calls]

    def _materialise(self, state: TurnState, tag: str, action: dict[str, Any]) -> dict[str, Any]:
        """Hook: turn a planned action into the action sent (it may depend on this turn's results)."""
        return action

    def _after_result(self, state: TurnState, result: dict[str, Any]) -> None:
        """Hook: react to a tool result (the scripted agent may give up after an error)."""

    def _facts(self, state: TurnState) -> list[tuple[str, Any]]:
        return [(f.label, resolve_lenient(f.value, self._bindings)) for f in state.turn.reply_facts]

    def _context(self, state: TurnState, error: str | None = None) -> ReplyContext:
        """What the agent knows when it replies: the turn, its results, its own last call, the names it saw."""
        last_call = state.calls[-1]["arguments"] if state.calls else {}
        return ReplyContext(
            key=f"{self.conversation_id}:{state.turn.turn_id}", intent=state.turn.intent,
            facts=tuple(self._facts(state)), results=tuple(state.gold_results),
            arguments=last_call if isinstance(last_call, dict) else {}, error=error, names=self._names,
            utterance=self._utterance)

    def _reply(self, state: TurnState) -> str:
        last = state.gold_results[-1] if state.gold_results else None
        error = last.get("error") if last is not None and last.get("ok") is False else None
        return compose(self._context(state, error))
