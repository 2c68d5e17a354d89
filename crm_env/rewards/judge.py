"""The LLM judge: consulted only where the deterministic checks cannot decide.

A judge reads the user's request, the agent's tool calls and reply, and the reference (expected facts or
the expected refusal), and returns two scores in [0, 1]: *goal* (was the request answered correctly) and
*process* (were the calls and reply appropriate). The verdict is computed HERE, in code:
``score = 0.7 × goal + 0.3 × process`` and ``passed = score ≥ 0.8`` (the prompt asks only for the two
numbers). Verdicts are cached by (model, SHA-256 of the prompt), so a re-run costs nothing.

Clients are pluggable: ``OpenAICompatibleClient`` (OpenAI, vLLM, Ollama... via ``base_url``) and
``AnthropicClient`` use the provider plumbing the agents use (``crm_env.providers``: shared SDK clients
built at the first call, never at import; our retries; the same usage conventions) and record each call
as an ``LlmCall`` (role ``judge``) for the runner's token and cost accounting. API keys come only from
environment variables and are never logged or shown in ``repr``. Any failure — network, timeout, HTTP
error once retries are spent, a malformed verdict — raises ``JudgeError``; the ensemble reports it as an
error, never as 0.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any, Protocol

from crm_env.errors import ConfigError, InfrastructureError
from crm_env.providers.clients import malformed_response_guard, provider_client
from crm_env.providers.retry import RetryPolicy, call_with_retries
from crm_env.providers.sampling import anthropic_sampling
from crm_env.providers.usage import LlmCall, TokenUsage, anthropic_usage, openai_usage

GOAL_WEIGHT = 0.7
PROCESS_WEIGHT = 0.3
PASS_THRESHOLD = 0.8
TEMPERATURE = 0.0  # the same prompt should get the same verdict (the cache assumes it)

SYSTEM_PROMPT = (
    "You grade one turn of a CRM assistant. You get the user's request, the assistant's tool calls with their "
    "results, its reply, and the reference outcome. Return ONLY a JSON object "
    '{"goal": <0..1>, "process": <0..1>, "rationale": "<one sentence>"}. goal: does the reply correctly '
    "achieve what the user asked, consistent with the reference (paraphrase is fine, wrong values are not)? "
    "process: were the tool calls appropriate and the reply clear and honest?"
)


class JudgeError(InfrastructureError):
    """The judge could not produce a verdict (unreachable, timed out, or answered malformed)."""

    kind = "judge_error"


class MalformedVerdict(JudgeError):
    """The judge answered, but not with the verdict asked for (the model's fault, not the transport's)."""


@dataclass(frozen=True, slots=True)
class JudgeVerdict:
    goal: float
    process: float
    rationale: str
    model: str
    cached: bool = False

    @property
    def score(self) -> float:
        return round(GOAL_WEIGHT * self.goal + PROCESS_WEIGHT * self.process, 6)

    @property
    def passed(self) -> bool:
        return self.score >= PASS_THRESHOLD

    def to_dict(self) -> dict[str, Any]:
        return {"goal": self.goal, "process": self.process, "score": self.score, "passed": self.passed,
                "rationale": self.rationale, "model": self.model, "cached": self.cached}


class JudgeClient(Protocol):
    model: str

    def complete(self, system: str, prompt: str) -> str:
        """The model's text answer; raises on any transport failure."""


class ProviderClient:
    """What both provider clients share: the shared SDK client (``crm_env.providers.clients``), our
    bounded retries (the SDK's are off) and an ``LlmCall`` (role ``judge``, or ``role``) per answered
    request, kept in ``calls`` until ``drain_calls``. The key is read from ``$api_key_env`` at each call, never stored.

    Args:
        model: Model name.
        base_url: Another endpoint (an OpenAI-compatible server, a proxy); the provider's API when None.
            With a base URL the key is optional (local servers often need none).
        api_key_env: Environment variable holding the key (the provider's usual one by default).
        timeout: Seconds per request.
        retry: Retries on 429 / 5xx / timeouts / dropped connections; when they run out the judge fails
            with ``JudgeError``.
    """

    provider = ""
    key_variable = ""

    def __init__(self, model: str, *, base_url: str | None = None, api_key_env: str | None = None,
                 timeout: float = 60.0, retry: RetryPolicy | None = None, role: str = "judge",
                 max_tokens: int = 400, temperature: float = TEMPERATURE) -> None:
        self.model = model
        self.temperature = temperature  # above 0 only where independent samples are wanted
        self.role = role  # whose calls these are in the cost by role ("judge", "teacher")
        self.max_tokens = max_tokens
        self.base_url = base_url
        self.api_key_env = api_key_env or self.key_variable
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.calls: list[LlmCall] = []
        self._rng = random.Random(0)  # retry jitter only

    def complete(self, system: str, prompt: str) -> str:
        started = time.perf_counter()
        answer, attempts = call_with_retries(lambda: self._request(system, prompt), self.retry, self._rng)
        text, usage = answer
        self.calls.append(LlmCall.of(self.role, self.provider, usage, time.perf_counter() - started, attempts))
        return text

    def drain_calls(self) -> list[LlmCall]:
        """The calls answered since the last drain."""
        calls, self.calls = self.calls, []
        return calls

    def _sdk(self) -> Any:
        return provider_client(self.provider, self.api_key_env, self.base_url, self.timeout)

    def _request(self, system: str, prompt: str) -> tuple[str, TokenUsage]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, base_url={self.base_url!r})"


class OpenAICompatibleClient(ProviderClient):
    """Chat completions through the ``openai`` SDK; any OpenAI-compatible server via ``base_url``."""

    provider = "openai"
    key_variable = "OPENAI_API_KEY"

    def _request(self, system: str, prompt: str) -> tuple[str, TokenUsage]:
        with malformed_response_guard(self.provider):
            response = self._sdk().chat.completions.create(
                model=self.model, temperature=self.temperature,
                messages=[{"role": "system", "content": system}, {"role": "user", "content": prompt}],
            )
        return response.choices[0].message.content or "", openai_usage(response, self.model)


class AnthropicClient(ProviderClient):
    """Messages through the ``anthropic`` SDK; the key from ``$ANTHROPIC_API_KEY`` (or ``api_key_env``)."""

    provider = "anthropic"
    key_variable = "ANTHROPIC_API_KEY"

    def _request(self, system: str, prompt: str) -> tuple[str, TokenUsage]:
        with malformed_response_guard(self.provider):
            response = self._sdk().messages.create(
                model=self.model, max_tokens=self.max_tokens, system=system,
                messages=[{"role": "user", "content": prompt}], **anthropic_sampling(self.model, self.temperature),
            )
        text = "".join(getattr(block, "text", "") for block in response.content)
        return text, anthropic_usage(response, self.model)


_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def parse_verdict(text: str, model: str) -> JudgeVerdict:
    """Read ``{"goal": g, "process": p, "rationale": r}`` from the model's answer.

    Raises:
        MalformedVerdict: No JSON object, or scores missing or outside [0, 1].
    """
    match = _JSON_OBJECT.search(text or "")
    if match is None:
        raise MalformedVerdict(f"malformed judge verdict (no JSON object): {text[:200]!r}")
    try:
        data = json.loads(match.group(0))
    except ValueError as exc:
        raise MalformedVerdict(f"malformed judge verdict ({exc}): {text[:200]!r}") from None
    scores = []
    for key in ("goal", "process"):
        value = data.get(key) if isinstance(data, dict) else None
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise MalformedVerdict(f"malformed judge verdict: {key!r} must be a number in [0, 1], got {value!r}")
        scores.append(float(value))
    return JudgeVerdict(scores[0], scores[1], str(data.get("rationale", ""))[:500], model)


class Judge:
    """Grades turns with a client; caches verdicts by (model, prompt hash).

    Args:
        client: An ``OpenAICompatibleClient``, ``AnthropicClient`` or anything with ``model`` and
            ``complete(system, prompt)`` (and optionally ``drain_calls()`` returning its ``LlmCall`` records).
        cache: Where verdicts are kept; share one mapping between judges to share verdicts.
    """

    def __init__(self, client: JudgeClient, cache: MutableMapping[str, dict[str, Any]] | None = None) -> None:
        self.client = client
        self.cache: MutableMapping[str, dict[str, Any]] = {} if cache is None else cache

    @classmethod
    def from_spec(cls, spec: str, *, cache: MutableMapping[str, dict[str, Any]] | None = None,
                  **options: Any) -> Judge:
        """``"openai:MODEL"``, ``"openai:MODEL@http://host:port/v1"`` or ``"anthropic:MODEL[@BASE_URL]"``;
        ``options`` go to the client (``timeout``, ``retry``, ``api_key_env``).

        Raises:
            ConfigError: The spec names no model or an unknown provider.
        """
        provider, _, rest = spec.partition(":")
        model, _, base_url = rest.partition("@")
        if not model:
            raise ConfigError(f"judge spec {spec!r}: use 'openai:MODEL[@BASE_URL]' or 'anthropic:MODEL'")
        if provider == "openai":
            return cls(OpenAICompatibleClient(model, base_url=base_url or None, **options), cache)
        if provider == "anthropic":
            return cls(AnthropicClient(model, base_url=base_url or None, **options), cache)
        raise ConfigError(f"judge spec {spec!r}: unknown provider {provider!r}; use 'openai' or 'anthropic'")

    @staticmethod
    def cache_key(model: str, prompt: str, system: str = SYSTEM_PROMPT, sample: int = 0) -> str:
        text = f"{model}\x00{system}\x00{prompt}" + (f"\x00{sample}" if sample else "")
        return hashlib.sha256(text.encode()).hexdigest()

    def grade(self, prompt: str, *, system: str = SYSTEM_PROMPT, sample: int = 0) -> JudgeVerdict:
        """A verdict for the prompt (from the cache when seen before); ``sample`` numbers independent
        samples of the same prompt, each cached on its own.

        Raises:
            MalformedVerdict: The model answered with something else than a verdict.
            JudgeError: The client failed.
        """
        model = self.client.model
        key = self.cache_key(model, prompt, system, sample)
        hit = self.cache.get(key)
        if hit is not None:
            return JudgeVerdict(hit["goal"], hit["process"], hit["rationale"], model, cached=True)
        try:
            text = self.client.complete(system, prompt)
        except (JudgeError, ConfigError):
            raise
        except Exception as exc:  # transport failures of either SDK: reported, never scored
            raise JudgeError(f"judge {model!r} failed: {type(exc).__name__}: {exc}") from exc
        verdict = parse_verdict(text, model)
        self.cache[key] = {"goal": verdict.goal, "process": verdict.process, "rationale": verdict.rationale}
        return verdict

    def drain_calls(self) -> list[LlmCall]:
        """The provider calls made since the last drain (none from a client that records none)."""
        drain = getattr(self.client, "drain_calls", None)
        return drain() if drain is not None else []

    def __repr__(self) -> str:
        return f"Judge({self.client!r}, cached={len(self.cache)})"


def turn_prompt(request: str, calls: list[dict[str, Any]], reply: str, reference: dict[str, Any]) -> str:
    """The user prompt for one turn (JSON sections, results truncated to keep prompts bounded)."""
    shown = [{**c, "result": _truncate(c.get("result"))} for c in calls]
    return "\n\n".join([
        f"USER REQUEST:\n{request}",
        f"ASSISTANT TOOL CALLS:\n{json.dumps(shown, sort_keys=True, default=str)}",
        f"ASSISTANT REPLY:\n{reply}",
        f"REFERENCE:\n{json.dumps(reference, sort_keys=True, default=str)}",
    ])


def _truncate(value: Any, limit: int = 2000) -> Any:
    text = json.dumps(value, sort_keys=True, default=str)
    return value if len(text) <= limit else text[:limit] + "...(truncated)"
