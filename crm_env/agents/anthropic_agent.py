"""``ClaudeAgent``: the Anthropic Messages API with native tool use.

Tools come from the catalog (``anthropic_tools()``); the system prompt is sent as a text block with
``cache_control`` so repeated requests read it from the prompt cache. A ``tool_use`` block becomes a tool
action; the env's result goes back as a ``tool_result`` block (``is_error`` when the call failed); a
text answer without tool use becomes the reply. Blocks the agent does not act on (e.g. ``thinking``)
are kept in the history as the API returned them.
"""

from __future__ import annotations

import json
from typing import Any

from crm_env.agents.llm import Completion, LlmAgent, ToolCall
from crm_env.agents.prompt import system_prompt
from crm_env.providers.clients import malformed_response_guard
from crm_env.providers.retry import RetryPolicy
from crm_env.providers.sampling import anthropic_sampling
from crm_env.providers.usage import anthropic_usage
from crm_env.tools import anthropic_tools

DEFAULT_MODEL = "claude-sonnet-5-5"


class ClaudeAgent(LlmAgent):
    """An agent backed by a Claude model through the Messages API.

    Args:
        model: Model id (a current Claude Sonnet by default).
        base_url: Another endpoint for the Messages API (a proxy, or a test server).
        temperature: Sampling temperature; not sent to models that reject sampling parameters.
        max_output_tokens: ``max_tokens`` per request.
        timeout: Seconds per request.
        retry: Retry policy for 429 / 5xx / timeouts / dropped connections (the SDK's own retries are off).
        seed: Seeds the retry jitter.

    Raises:
        ConfigError: ``ANTHROPIC_API_KEY`` is unset and no ``base_url`` was given.
    """

    provider = "anthropic"
    key_variable = "ANTHROPIC_API_KEY"

    def __init__(self, model: str = DEFAULT_MODEL, *, base_url: str | None = None, temperature: float | None = 0.0,
                 max_output_tokens: int = 800, timeout: float = 60.0, retry: RetryPolicy | None = None,
                 seed: int = 0) -> None:
        self.system = [{"type": "text", "text": system_prompt(native_tools=True), "cache_control": {"type": "ephemeral"}}]
        self.tools = anthropic_tools()
        super().__init__(model, base_url=base_url, temperature=temperature, max_output_tokens=max_output_tokens,
                         timeout=timeout, retry=retry, seed=seed)

    def reset(self, conversation_id: str | None = None) -> None:
        super().reset(conversation_id)
        self._results: list[dict[str, Any]] = []  # tool_result blocks for the next user message

    def _request(self) -> dict[str, Any]:
        if self._results:  # every tool_result of the previous answer goes back in ONE user message
            self.messages.append({"role": "user", "content": self._results})
            self._results = []
        request: dict[str, Any] = {"model": self.model, "max_tokens": self.max_output_tokens, "system": self.system,
                                   "tools": self.tools, "messages": self.messages}
        return request | anthropic_sampling(self.model, self.temperature)

    def _create(self) -> Completion:
        with malformed_response_guard(self.provider):
            return self._completion(self._sdk(False).messages.create(**self._request()))

    async def _create_async(self) -> Completion:
        with malformed_response_guard(self.provider):
            return self._completion(await self._sdk(True).messages.create(**self._request()))

    # ------------------------------------------------------------------ wire format
    def _completion(self, response: Any) -> Completion:
        texts, calls = [], []
        for block in response.content or []:
            if block.type == "text":
                texts.append(block.text)
            elif block.type == "tool_use":
                arguments = block.input if isinstance(block.input, dict) else json.dumps(block.input)
                calls.append(ToolCall(block.id, block.name, arguments))
        return Completion(text="\n".join(t for t in texts if t).strip(), calls=calls,
                          usage=anthropic_usage(response, self.model), raw=response.content)

    def _remember(self, completion: Completion) -> None:
        blocks = [_block_param(b) for b in completion.raw or []]
        self.messages.append({"role": "assistant", "content": blocks or [{"type": "text", "text": "(no reply)"}]})

    def _begin_turn(self, user_message: str) -> None:
        content = [*self._results, {"type": "text", "text": user_message or "(no message)"}]
        self._results = []
        self.messages.append({"role": "user", "content": content})

    def _answer_call(self, call: ToolCall, result: str) -> None:
        try:
            failed = json.loads(result).get("ok") is False
        except (ValueError, AttributeError):
            failed = False
        block: dict[str, Any] = {"type": "tool_result", "tool_use_id": call.call_id, "content": result}
        if failed:
            block["is_error"] = True
        self._results.append(block)


def _block_param(block: Any) -> dict[str, Any]:
    """A response content block as a request block (only the fields the API accepts back)."""
    if block.type == "text":
        return {"type": "text", "text": block.text}
    if block.type == "tool_use":
        return {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
    return block.model_dump(exclude_none=True) if hasattr(block, "model_dump") else dict(block)
