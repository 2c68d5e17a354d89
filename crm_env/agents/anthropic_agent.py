"""``ClaudeAgent``: the Anthropic Messages API with native tool use.

Tools come from the catalog (``anthropic_tools()``); the system prompt is sent as a text block with
``cache_control`` so repeated requests read it from the prompt cache. A ``tool_use`` block becomes a tool
action; the env's result goes back as a ``tool_result`` block (``is_error`` when the call failed); a
text answer without tool use becomes the reply. Blocks the agent does not act on (e.g. ``thinking``)
are kept in the history as the API returned them.
"""

from __future__ import annotations

import json
import re
from typing import Any

from crm_env.agents.llm import (
    Completion,
    LlmAgent,
    ToolCall,
    api_key,
    client_key,
    malformed_response_guard,
    shared_client,
)
from crm_env.agents.prompt import system_prompt
from crm_env.agents.retry import RetryPolicy
from crm_env.tools import anthropic_tools

DEFAULT_MODEL = "claude-sonnet-5-5"
# Claude 5-generation models reject non-default sampling parameters (HTTP 400), so the configured
# temperature is only sent to models that accept it (and through ``extra_body``: the 2.x SDK dropped it).
_NO_SAMPLING = re.compile(r"^claude-(?:(?:sonnet|opus|haiku)-(?:[5-9]|\d{2,})|fable|mythos)")


def accepts_temperature(model: str) -> bool:
    return _NO_SAMPLING.match(model) is None


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

    # ------------------------------------------------------------------ clients
    def _client_options(self) -> dict[str, Any]:
        # max_retries=0: retries are ours (crm_env.agents.retry), bounded and accounted for.
        return {"api_key": api_key(self.key_variable, self.base_url) or "not-needed", "base_url": self.base_url,
                "timeout": self.timeout, "max_retries": 0}

    def _shared(self, asynchronous: bool) -> Any:
        """The SDK client shared by every agent with the same endpoint, timeout and key (built at first use)."""
        import anthropic

        options = self._client_options()
        build = (lambda: anthropic.AsyncAnthropic(**options)) if asynchronous else (lambda: anthropic.Anthropic(**options))
        return shared_client(client_key(self.provider, self.base_url, self.timeout, options["api_key"]), build,
                             asynchronous=asynchronous)

    def _sync(self) -> Any:
        return self._shared(False)

    def _async(self) -> Any:
        return self._shared(True)

    def _request(self) -> dict[str, Any]:
        if self._results:  # every tool_result of the previous answer goes back in ONE user message
            self.messages.append({"role": "user", "content": self._results})
            self._results = []
        request: dict[str, Any] = {"model": self.model, "max_tokens": self.max_output_tokens, "system": self.system,
                                   "tools": self.tools, "messages": self.messages}
        if self.temperature is not None and accepts_temperature(self.model):
            # The installed SDK (2.x) no longer has a ``temperature`` parameter; older models still take it.
            request["extra_body"] = {"temperature": self.temperature}
        return request

    def _create(self) -> Completion:
        with malformed_response_guard(self.provider):
            return self._completion(self._sync().messages.create(**self._request()))

    async def _create_async(self) -> Completion:
        with malformed_response_guard(self.provider):
            return self._completion(await self._async().messages.create(**self._request()))

    # ------------------------------------------------------------------ wire format
    def _completion(self, response: Any) -> Completion:
        texts, calls = [], []
        for block in response.content or []:
            if block.type == "text":
                texts.append(block.text)
            elif block.type == "tool_use":
                arguments = block.input if isinstance(block.input, dict) else json.dumps(block.input)
                calls.append(ToolCall(block.id, block.name, arguments))
        usage = response.usage
        cached = (getattr(usage, "cache_read_input_tokens", None) or 0) if usage else 0
        written = (getattr(usage, "cache_creation_input_tokens", None) or 0) if usage else 0
        return Completion(
            text="\n".join(t for t in texts if t).strip(),
            calls=calls,
            model=response.model or self.model,
            # Anthropic reports cache reads / writes apart from input_tokens; tokens in counts them all.
            input_tokens=((usage.input_tokens or 0) + cached + written) if usage else 0,
            output_tokens=(usage.output_tokens or 0) if usage else 0,
            cached_tokens=cached,
            raw=response.content,
        )

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
