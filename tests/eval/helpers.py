"""Stand-in agents and a concurrency-safe fake "correct" OpenAI server for the evaluation tests."""

from __future__ import annotations

import json
import time
from typing import Any

from crm_env.agents.base import LlmCall, OfflineAgent
from crm_env.agents.replay import ReplayAgent
from crm_env.datasets.format import Conversation
from crm_env.errors import InfrastructureError

SCORE_KEYS_IGNORED = ("latency_s", "wall_time_s", "episodes_per_s", "stopped_by_budget")


def scores(summary: dict[str, Any]) -> dict[str, Any]:
    """A summary without the fields that depend on timing."""
    return {k: v for k, v in summary.items() if k not in SCORE_KEYS_IGNORED}


class SabotagedReplay(ReplayAgent):
    """The oracle, except that it replies uselessly (no calls) on the last turn of chosen conversations."""

    def __init__(self, conversations: Any, sabotage: set[str]) -> None:
        super().__init__(conversations)
        self.sabotage = sabotage

    def act(self, observation: Any) -> str:
        assert self._conv is not None
        last = int(observation.get("turn", 0)) == len(self._conv.turns) - 1
        if last and self.conversation_id in self.sabotage:
            return json.dumps({"respond": "no"})
        return super().act(observation)


class FlakyAgent(OfflineAgent):
    """Wraps an agent: raises ``InfrastructureError`` for chosen conversations; reports priced LLM calls."""

    def __init__(self, inner: Any, fail: bool, cost_model: str | None = None) -> None:
        self.inner = inner
        self.fail = fail
        self.cost_model = cost_model
        self._calls: list[LlmCall] = []

    def reset(self, conversation_id: str | None = None) -> None:
        self.inner.reset(conversation_id)

    def act(self, observation: Any) -> str:
        if self.fail:
            raise InfrastructureError("provider call failed after 5 attempt(s): InternalServerError (HTTP 500)")
        if self.cost_model:
            self._calls.append(LlmCall("agent", "fake", self.cost_model, 1000, 100, 0, 0.001, 1))
        return self.inner.act(observation)

    def drain_calls(self) -> list[LlmCall]:
        calls, self._calls = self._calls, []
        return calls


def correct_behaviour(provider: Any, conversations: list[Conversation], latency: float = 0.0):
    """A stateless FakeProvider behaviour answering as the oracle for ANY conversation, concurrently:
    the conversation is found from the first user message, and a fresh ReplayAgent is driven through
    the request's history (each user message and tool result is one earlier observation)."""
    from tests.fakes.providers import _tool_result, _user_text

    by_first = {c.conversation_id: c for c in conversations}
    first_utterance: dict[str, list[str]] = {}  # generated conversations may share an opening request
    for c in conversations:
        first_utterance.setdefault(c.turns[0].utterance, []).append(c.conversation_id)

    def identify(users: list[str | None]) -> str | None:
        for cid in first_utterance.get(users[0] or "", []):
            turns = by_first[cid].turns
            if len(users) <= len(turns) and all(u == t.utterance or "{{" in t.utterance for u, t in zip(users, turns)):
                return cid
        return None

    def behaviour(body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        if latency:
            time.sleep(latency)
        messages = body["messages"]
        users = [m for m in messages if _user_text(m, provider.kind) is not None]
        conv_id = identify([_user_text(m, provider.kind) for m in users])
        if conv_id is None:
            return 200, {}, json.loads(provider._answer({"respond": "I do not know this conversation."}))
        brain = ReplayAgent([by_first[conv_id]])
        brain.reset(conv_id)
        turn = -1
        action = None
        for message in messages:
            text = _user_text(message, provider.kind)
            if text is not None:
                turn += 1
                action = brain.act({"turn": turn, "user_message": text, "last_result": "{}", "crm_state": "{}"})
                continue
            result = _tool_result(message, provider.kind)
            if result is not None:
                action = brain.act({"turn": turn, "user_message": "", "last_result": result, "crm_state": "{}"})
        return 200, {}, json.loads(provider._answer(json.loads(action)))

    return behaviour


UNDECIDABLE = "as discussed"  # a reply holding this is one the reply check can neither confirm nor refute


class VagueReplay(ReplayAgent):
    """The oracle's calls, but every reply says only "Done, as discussed." (the marker above); with
    ``skip_last`` it also skips the calls of each conversation's last turn (its state or retrieval fails)."""

    def __init__(self, conversations: Any, skip_last: bool = False) -> None:
        super().__init__(conversations)
        self.skip_last = skip_last

    def act(self, observation: Any) -> str:
        assert self._conv is not None
        if self.skip_last and int(observation.get("turn", 0)) == len(self._conv.turns) - 1:
            return json.dumps({"respond": f"Done, {UNDECIDABLE}."})
        action = json.loads(super().act(observation))
        return json.dumps({"respond": f"Done, {UNDECIDABLE}."} if "respond" in action else action)


def undecidable_replies(monkeypatch: Any) -> None:
    """Make the reply check leave every reply holding ``UNDECIDABLE`` undecided (delegating the rest), so
    tests of the undecided accounting do not depend on which wordings the reply checker can read."""
    from crm_env.rewards import ensemble
    from crm_env.rewards.component import undecided

    name = REPLY_CHECK
    check = getattr(ensemble, name)

    def validate(*args: Any, **kwargs: Any) -> Any:
        if any(isinstance(a, str) and UNDECIDABLE in a for a in (*args, *kwargs.values())):
            return undecided("reply", "the reply neither states nor contradicts the expected facts")
        return check(*args, **kwargs)

    monkeypatch.setattr(ensemble, name, validate)


REPLY_CHECK = "check_reply"  # the ensemble's reply check (crm_env.rewards.meaning), called with the reply text
