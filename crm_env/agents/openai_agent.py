"""``OpenAIAgent``: Chat Completions with function calling, for OpenAI and any compatible server.

With ``base_url`` it talks to vLLM, Ollama, LM Studio and the like (a key is then optional). For servers
without native tool calling, ``native_tools=False`` spells the tools out in the system prompt and reads
the JSON action from the model's text; text that is not a valid action reaches the env as written, so
the env reports the model's mistake.
"""

from __future__ import annotations

import json
import re
from typing import Any

from crm_env.agents.llm import Completion, LlmAgent, ToolCall, parse_arguments
from crm_env.agents.prompt import system_prompt, with_playbook
from crm_env.providers.clients import malformed_response_guard
from crm_env.providers.retry import RetryPolicy
from crm_env.providers.usage import openai_usage
from crm_env.tools import openai_tools

DEFAULT_MODEL = "gpt-4.1"
MINI_MODEL = "gpt-4.1-mini"
RESULT_PREFIX = "Tool result: "  # how a tool result is shown to a model without native tool calling
# How the SDK's own chat.completions.create posts: bearer authentication (the key of the client).
_POST_OPTIONS: dict[str, Any] = {"security": {"bearer_auth": True}}
_FENCED = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def _dumps(value: Any) -> bytes:
    """JSON bytes as the SDK encodes a body (``openapi_dumps``: compact, UTF-8, no NaN)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def action_from_text(text: str) -> str:
    """The env action in a model's text answer (non-native mode).

    A JSON object (optionally in a code fence) is passed on as the action; anything else is passed on
    unchanged and the env reports it as an invalid action.
    """
    fenced = _FENCED.match(text)
    candidate = fenced.group(1) if fenced else text.strip()
    try:
        value = json.loads(candidate)
    except ValueError:
        return text
    return json.dumps(value) if isinstance(value, dict) else text


class OpenAIAgent(LlmAgent):
    """An agent backed by an OpenAI Chat Completions model.

    Args:
        model: Model name (``gpt-4.1`` by default; ``gpt-4.1-mini`` is the cheap option).
        base_url: An OpenAI-compatible server (e.g. ``http://localhost:8000/v1``); OpenAI's API when None.
        native_tools: Use function calling; False for servers without it (JSON actions in text).
        temperature: Sampling temperature (None leaves it to the server).
        max_output_tokens: Output token cap per request.
        timeout: Seconds per request.
        retry: Retry policy for 429 / 5xx / timeouts / dropped connections (the SDK's own retries are off).
        seed: Seeds the retry jitter.

    Raises:
        ConfigError: ``OPENAI_API_KEY`` is unset and no ``base_url`` was given.
    """

    provider = "openai"
    key_variable = "OPENAI_API_KEY"

    def __init__(self, model: str = DEFAULT_MODEL, *, base_url: str | None = None, native_tools: bool = True,
                 temperature: float | None = 0.0, max_output_tokens: int = 800, timeout: float = 60.0,
                 retry: RetryPolicy | None = None, seed: int = 0) -> None:
        self.native_tools = native_tools
        self.system = system_prompt(native_tools=native_tools)
        self.tools = openai_tools() if native_tools else None
        super().__init__(model, base_url=base_url, temperature=temperature, max_output_tokens=max_output_tokens,
                         timeout=timeout, retry=retry, seed=seed)

    def reset(self, conversation_id: str | None = None) -> None:
        super().reset(conversation_id)
        self.messages = [{"role": "system", "content": self.system}]
        self._encoded: list[bytes] = []  # self.messages, JSON-encoded (see _body)
        self._encoded_of: list[dict[str, Any]] | None = None
        self._head: bytes | None = None

    def _request(self) -> dict[str, Any]:
        request: dict[str, Any] = {"model": self.model, "messages": self.messages,
                                   "max_completion_tokens": self.max_output_tokens}
        if self.temperature is not None:
            request["temperature"] = self.temperature
        if self.tools is not None:
            request["tools"] = self.tools
            request["parallel_tool_calls"] = False  # a hint; several calls are still handled one by one
        return request

    def _body(self) -> bytes:
        """The request body as JSON bytes, what ``chat.completions.create(**self._request())`` sends.

        Built without the SDK's per-request walk of the typed parameters (it re-validates the whole
        history and the tool schemas on every request: ~10 ms of CPU for a long episode) and without
        re-encoding the history: the fixed part (model, tools, options) is encoded once per agent and
        each message once, when it is appended (the history only grows; a replaced list is re-encoded).
        """
        if self._encoded_of is not self.messages or len(self._encoded) > len(self.messages):
            self._encoded_of, self._encoded = self.messages, []
        encoded = self._encoded
        for message in self.messages[len(encoded):]:
            encoded.append(_dumps(message))
        if self._head is None:
            fixed = {k: v for k, v in self._request().items() if k != "messages"}
            self._head = _dumps(fixed)[:-1] + (b',"messages":[' if fixed else b'"messages":[')
        return self._head + b",".join(encoded) + b"]}"

    def _raw_post(self, client: Any) -> Any:
        from openai.types.chat import ChatCompletion

        return client.post("/chat/completions", content=self._body(), cast_to=ChatCompletion,
                           options=_POST_OPTIONS)

    def _create(self) -> Completion:
        with malformed_response_guard(self.provider):
            return self._completion(self._raw_post(self._sdk(False)))

    async def _create_async(self) -> Completion:
        with malformed_response_guard(self.provider):
            return self._completion(await self._raw_post(self._sdk(True)))

    # ------------------------------------------------------------------ wire format
    def _completion(self, response: Any) -> Completion:
        message = response.choices[0].message if response.choices else None
        calls = []
        for call in (getattr(message, "tool_calls", None) or []):
            function = getattr(call, "function", None)
            if function is None:  # a non-function tool call type: nothing the env can run
                continue
            calls.append(ToolCall(call.id, function.name, parse_arguments(function.arguments)))
        return Completion(text=(getattr(message, "content", None) or ""), calls=calls,
                          usage=openai_usage(response, self.model), raw=message)

    def _remember(self, completion: Completion) -> None:
        entry: dict[str, Any] = {"role": "assistant", "content": completion.text or None}
        if completion.calls:
            entry["tool_calls"] = [
                {"id": c.call_id, "type": "function", "function": {
                    "name": c.name,
                    "arguments": json.dumps(c.arguments) if isinstance(c.arguments, dict) else str(c.arguments)}}
                for c in completion.calls
            ]
        elif not completion.text:
            entry["content"] = ""
        self.messages.append(entry)

    def _begin_turn(self, user_message: str) -> None:
        self.messages.append({"role": "user", "content": user_message})

    def _answer_call(self, call: ToolCall, result: str) -> None:
        self.messages.append({"role": "tool", "tool_call_id": call.call_id, "content": result})

    # ------------------------------------------------------------------ non-native mode
    def _ingest(self, observation: Any) -> str | None:
        if self.native_tools:
            return super()._ingest(observation)
        turn = int(observation.get("turn", 0))
        if turn != self._turn:
            self._turn = turn
            self._begin_turn(with_playbook(str(observation.get("user_message", "")), self._guidance))
            self._guidance = ()
        else:
            self.messages.append({"role": "user", "content": RESULT_PREFIX + str(observation.get("last_result") or "{}")})
        return None

    def _reply_action(self, text: str) -> str:
        return super()._reply_action(text) if self.native_tools else action_from_text(text)
