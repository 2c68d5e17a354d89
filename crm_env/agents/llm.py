"""What both LLM agents share: retried and recorded provider calls, and the turn loop.

The turn loop (``LlmAgent``) turns env observations into provider messages and model answers into
actions. A model may ask for several tool calls at once; they are queued and sent to the env one at a
time, each answered with its own tool result before the model is asked again. Provider specifics (the
wire format of messages and tool calls) live in the subclasses; SDK clients, keys, retries and usage
conventions are the provider plumbing of ``crm_env.providers``, shared with the judge.

Keys come only from ``ANTHROPIC_API_KEY`` / ``OPENAI_API_KEY``; they are handed to the shared SDK client
and never stored on the agent, logged or shown in a ``repr``.
"""

from __future__ import annotations

import json
import random
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from crm_env.agents.base import Observation
from crm_env.agents.prompt import with_playbook
from crm_env.errors import ConfigError
from crm_env.providers.clients import api_key, provider_client
from crm_env.providers.retry import RetryPolicy, call_with_retries, call_with_retries_async
from crm_env.providers.usage import LlmCall, TokenUsage

ROLE = "agent"
TURN_ENDED = json.dumps({"ok": False, "error": "not executed: the turn ended before this call ran"})


@dataclass(frozen=True, slots=True)
class ToolCall:
    call_id: str
    name: str
    arguments: Any  # a dict, or the model's raw argument text when it was not a JSON object


@dataclass(slots=True)
class Completion:
    """A provider answer, normalised."""

    text: str
    calls: list[ToolCall]
    usage: TokenUsage
    raw: Any = field(default=None, repr=False)


def tool_action(call: ToolCall) -> str:
    """The env action for a tool call. Argument text that is not a JSON object is passed on as written,
    so the env reports the malformed call (the model's mistake) instead of the agent hiding it."""
    if isinstance(call.arguments, dict):
        return json.dumps({"tool": call.name, "arguments": call.arguments}, default=str)
    return '{"tool": ' + json.dumps(call.name) + ', "arguments": ' + str(call.arguments) + "}"


def parse_arguments(text: str | None) -> Any:
    """A tool call's argument text as a dict; the raw text when it is not a JSON object."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, dict) else text


class LlmAgent:
    """Base of the provider agents: history, the tool-call queue, retries and call records.

    Subclasses implement ``_begin_turn``, ``_answer_call``, ``_create`` / ``_create_async`` and
    ``_remember``.
    """

    provider = "llm"
    simulated = False
    key_variable = ""

    def __init__(self, model: str, *, base_url: str | None = None, temperature: float | None = 0.0,
                 max_output_tokens: int = 800, timeout: float = 60.0, retry: RetryPolicy | None = None,
                 seed: int = 0) -> None:
        if max_output_tokens < 1:
            raise ConfigError("max_output_tokens must be at least 1")
        if timeout <= 0:
            raise ConfigError("timeout must be positive")
        self.model = model
        self.base_url = base_url
        self.temperature = temperature
        self.max_output_tokens = max_output_tokens
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.seed = seed
        self.name = f"{self.provider}:{model}"
        api_key(self.key_variable, base_url)  # fail at construction, not mid-run, when the key is missing
        self._rng = random.Random(seed)  # retry jitter only
        self._calls: list[LlmCall] = []
        self.reset()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, base_url={self.base_url!r})"

    # ------------------------------------------------------------------ protocol
    def reset(self, conversation_id: str | None = None) -> None:
        self.conversation_id = conversation_id
        self._guidance: tuple[str, ...] = ()
        self.messages: list[dict[str, Any]] = []
        self._turn: int | None = None
        self._queue: deque[ToolCall] = deque()
        self._awaiting: ToolCall | None = None

    def act(self, observation: Observation) -> str:
        action = self._ingest(observation)
        if action is not None:
            return action
        start = time.perf_counter()
        completion, attempts = call_with_retries(self._create, self.retry, self._rng)
        return self._handle(completion, attempts, time.perf_counter() - start)

    async def act_async(self, observation: Observation) -> str:
        action = self._ingest(observation)
        if action is not None:
            return action
        start = time.perf_counter()
        completion, attempts = await call_with_retries_async(self._create_async, self.retry, self._rng)
        return self._handle(completion, attempts, time.perf_counter() - start)

    def drain_calls(self) -> list[LlmCall]:
        calls, self._calls = self._calls, []
        return calls

    def guide(self, instructions: Sequence[str]) -> None:
        """Playbook entries for the next user turn: sent before its message in a delimited section
        (``prompt.with_playbook``)."""
        self._guidance = tuple(str(i) for i in instructions)

    # ------------------------------------------------------------------ the loop
    def _ingest(self, observation: Observation) -> str | None:
        """Fold the observation into the history; returns a queued tool action when one is waiting."""
        turn = int(observation.get("turn", 0))
        if turn != self._turn:
            # A new user turn. Calls still open (the turn ran out of budget) get an explicit answer so
            # the history stays well-formed for the provider.
            for call in ([self._awaiting] if self._awaiting else []) + list(self._queue):
                self._answer_call(call, TURN_ENDED)
            self._awaiting = None
            self._queue.clear()
            self._turn = turn
            self._begin_turn(with_playbook(str(observation.get("user_message", "")), self._guidance))
            self._guidance = ()
        elif self._awaiting is not None:
            self._answer_call(self._awaiting, str(observation.get("last_result") or "{}"))
            self._awaiting = None
        if self._queue:
            self._awaiting = self._queue.popleft()
            return tool_action(self._awaiting)
        return None

    def _handle(self, completion: Completion, attempts: int, latency: float) -> str:
        self._calls.append(LlmCall.of(ROLE, self.provider, completion.usage, latency, attempts))
        self._remember(completion)
        if completion.calls:
            self._queue.extend(completion.calls)
            self._awaiting = self._queue.popleft()
            return tool_action(self._awaiting)
        return self._reply_action(completion.text)

    def _reply_action(self, text: str) -> str:
        return json.dumps({"respond": text})

    def _sdk(self, asynchronous: bool) -> Any:
        """The SDK client shared by every caller with the same endpoint, timeout and key."""
        return provider_client(self.provider, self.key_variable, self.base_url, self.timeout,
                               asynchronous=asynchronous)

    # ------------------------------------------------------------------ provider hooks
    def _begin_turn(self, user_message: str) -> None:
        raise NotImplementedError

    def _answer_call(self, call: ToolCall, result: str) -> None:
        raise NotImplementedError

    def _create(self) -> Completion:
        raise NotImplementedError

    async def _create_async(self) -> Completion:
        raise NotImplementedError

    def _remember(self, completion: Completion) -> None:
        raise NotImplementedError
