"""Retries for provider calls: exponential backoff with jitter, honouring ``retry-after``.

Retried: HTTP 429, 5xx, 408, timeouts and dropped connections. When attempts run out the failure becomes
an ``InfrastructureError``: the provider failed, not the agent or the judge, and the runner excludes such
conversations from the scores. Not retried: a refusal of the key, the permission or the model (401, 403,
404) is a ``ConfigError`` that stops the run (every request would get it); any other rejection (400, 422:
this request) is an ``InfrastructureError`` at once. Other exceptions are raised as they are. The SDKs'
own retries are off (``max_retries=0``, see ``crm_env.providers.clients``), so this is the only retry layer.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from crm_env.errors import ConfigError, InfrastructureError
from crm_env.providers.clients import PROVIDERS

T = TypeVar("T")

_RETRIED_STATUS = frozenset({408, 409, 429})
_FATAL_STATUS = frozenset({401, 403, 404})  # the key, the permission, the model: every request would fail


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: ``attempts`` calls at most, waits doubling from ``base_delay`` up to ``max_delay``."""

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 60.0


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    for name, scale in (("retry-after-ms", 1e-3), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is not None:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                return None
    return None


def retryable(exc: BaseException) -> bool:
    # Only the SDKs already loaded are consulted: an SDK's exception means its module is loaded, and
    # importing one here (~1.4 s for both) would stall every episode on the event loop at the first error.
    sdks = [sys.modules[name] for name in PROVIDERS if name in sys.modules]
    if isinstance(exc, tuple(sdk.APIConnectionError for sdk in sdks)):  # timeouts subclass these
        return True
    if isinstance(exc, tuple(sdk.APIStatusError for sdk in sdks)):
        return exc.status_code in _RETRIED_STATUS or exc.status_code >= 500  # type: ignore[attr-defined]
    return False


def describe(exc: BaseException) -> str:
    """A short cause for logs and result files; never includes request headers (keys)."""
    status = getattr(exc, "status_code", None)
    return f"{type(exc).__name__}" + (f" (HTTP {status})" if status else "")


def delay_for(policy: RetryPolicy, attempt: int, exc: BaseException, rng: random.Random) -> float:
    """Wait before retry number ``attempt`` (1-based): the server's retry-after, else full jitter backoff."""
    hinted = _retry_after(exc)
    if hinted is not None and hinted <= policy.max_retry_after:
        return hinted
    return rng.uniform(0, min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1)))


def _next_delay(exc: Exception, attempt: int, policy: RetryPolicy, rng: random.Random) -> float:
    """The wait before the next attempt, or raise: ``exc`` itself when it is not worth retrying, an
    ``InfrastructureError`` when the attempts are spent."""
    if not retryable(exc):
        status = getattr(exc, "status_code", None)
        if status is None:
            raise exc
        said = str(getattr(exc, "message", ""))[:200]
        if status in _FATAL_STATUS:
            raise ConfigError(f"the provider refused the request: {describe(exc)}: {said}. Check the API key "
                              "(its environment variable), the model name and --base-url") from exc
        raise InfrastructureError(f"the provider rejected the request: {describe(exc)}: {said}") from exc
    if attempt >= policy.attempts:
        raise InfrastructureError(f"provider call failed after {attempt} attempt(s): {describe(exc)}") from exc
    return delay_for(policy, attempt, exc, rng)


def call_with_retries(fn: Callable[[], T], policy: RetryPolicy, rng: random.Random) -> tuple[T, int]:
    """Run ``fn``; returns its value and the number of attempts it took.

    Raises:
        InfrastructureError: Retryable failures outlasted the policy.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn(), attempt
        except Exception as exc:
            time.sleep(_next_delay(exc, attempt, policy, rng))


async def call_with_retries_async(
    fn: Callable[[], Awaitable[T]], policy: RetryPolicy, rng: random.Random
) -> tuple[T, int]:
    """The async twin of ``call_with_retries``."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return await fn(), attempt
        except Exception as exc:
            await asyncio.sleep(_next_delay(exc, attempt, policy, rng))
