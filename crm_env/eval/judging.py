"""The judge as the runner uses it: the reward judge's clients, with each call's tokens recorded.

``crm_env.rewards.judge`` clients return only the answer text; these subclasses also append an
``LlmCall`` (role ``judge``) to a list the runner drains after every env step, so judge tokens and cost
are accounted per role like the agent's. Verdicts are shared across env instances through one cache.
"""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from typing import Any

from crm_env.agents.base import LlmCall
from crm_env.errors import ConfigError
from crm_env.rewards.judge import AnthropicClient, Judge, OpenAICompatibleClient


class _Recording:
    calls: list[LlmCall]

    def _record(self, provider: str, model: str, input_tokens: int, output_tokens: int, cached: int,
                started: float) -> None:
        self.calls.append(LlmCall("judge", provider, model, int(input_tokens), int(output_tokens), int(cached),
                                  time.perf_counter() - started, 1))


class RecordingOpenAIClient(OpenAICompatibleClient, _Recording):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls = []

    def complete(self, system: str, prompt: str) -> str:
        started = time.perf_counter()
        response = self._sdk().chat.completions.create(
            model=self.model, temperature=0,
            messages=[{"role": "system", "content": system}, {"role": "user", "content": prompt}],
        )
        usage = getattr(response, "usage", None)
        details = getattr(usage, "prompt_tokens_details", None)
        self._record("openai", getattr(response, "model", None) or self.model,
                     getattr(usage, "prompt_tokens", 0) or 0, getattr(usage, "completion_tokens", 0) or 0,
                     getattr(details, "cached_tokens", 0) or 0, started)
        return response.choices[0].message.content or ""


class RecordingAnthropicClient(AnthropicClient, _Recording):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls = []

    def complete(self, system: str, prompt: str) -> str:
        started = time.perf_counter()
        response = self._sdk().messages.create(
            model=self.model, max_tokens=400, temperature=0, system=system,
            messages=[{"role": "user", "content": prompt}],
        )
        usage = getattr(response, "usage", None)
        read = getattr(usage, "cache_read_input_tokens", 0) or 0
        written = getattr(usage, "cache_creation_input_tokens", 0) or 0
        # Anthropic reports cache reads apart from input tokens; LlmCall counts them inside input_tokens.
        self._record("anthropic", getattr(response, "model", None) or self.model,
                     (getattr(usage, "input_tokens", 0) or 0) + read + written,
                     getattr(usage, "output_tokens", 0) or 0, read, started)
        return "".join(getattr(block, "text", "") for block in response.content)


def recording_judge(spec: str, cache: MutableMapping[str, dict[str, Any]], timeout: float = 60.0) -> Judge:
    """A judge for ``"openai:MODEL[@URL]"`` or ``"anthropic:MODEL"`` whose client records its calls.

    Raises:
        ConfigError: The spec names no model or an unknown provider.
    """
    provider, _, rest = spec.partition(":")
    model, _, base_url = rest.partition("@")
    if not model:
        raise ConfigError(f"judge {spec!r}: use 'openai:MODEL[@BASE_URL]' or 'anthropic:MODEL'")
    if provider == "openai":
        return Judge(RecordingOpenAIClient(model, base_url=base_url or None, timeout=timeout), cache=cache)
    if provider == "anthropic":
        return Judge(RecordingAnthropicClient(model, base_url=base_url or None, timeout=timeout), cache=cache)
    raise ConfigError(f"judge {spec!r}: unknown provider {provider!r}; use 'openai' or 'anthropic'")


def drain(judge: Judge | None) -> list[LlmCall]:
    """The judge calls made since the last drain."""
    if judge is None:
        return []
    calls = getattr(judge.client, "calls", None)
    if not calls:
        return []
    taken = list(calls)
    calls.clear()
    return taken
