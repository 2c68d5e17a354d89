"""SDK clients of the providers (``openai``, ``anthropic``): keys, construction and sharing.

Keys come only from environment variables (``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``...); they are
handed to the SDK client and never stored by callers, logged or shown in a ``repr``. Clients are built
at first use (never at import) with the SDK's own retries off: ``crm_env.providers.retry`` is the only
retry layer, so every attempt is bounded and counted.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import os
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from crm_env.errors import ConfigError, InfrastructureError

PROVIDERS: tuple[str, ...] = ("openai", "anthropic")


def api_key(variable: str, base_url: str | None = None) -> str | None:
    """The key in ``$variable``; None when a ``base_url`` names a server that may need none.

    Raises:
        ConfigError: The variable is unset (or empty) and no base URL was given.
    """
    key = os.environ.get(variable) or None
    if key is None and base_url is None:
        raise ConfigError(f"set the environment variable {variable} to use this provider")
    return key


@contextmanager
def malformed_response_guard(provider: str) -> Iterator[None]:
    """A 200 answer that is not the provider's wire format (an HTML page from a proxy, truncated JSON)
    is the provider's failure, not the model's: it becomes an ``InfrastructureError`` (not retried).

    Only ``provider``'s SDK is imported (``openai`` or ``anthropic``): importing the other would cost up to
    a second and a half, on the event loop, during a run that never uses it."""
    if provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}; one of {PROVIDERS}")
    sdk = importlib.import_module(provider)
    try:
        yield
    except (sdk.APIResponseValidationError, ValueError) as exc:
        raise InfrastructureError(f"{provider} returned a malformed response ({type(exc).__name__})") from exc


# ------------------------------------------------------------------ shared SDK clients
# Building an SDK client is expensive (an httpx client, and an SSL context that loads the CA bundle:
# ~20 ms of CPU) and each one keeps its own connection pool, so callers share one client per
# (provider, base URL, timeout, key). Async clients hold connections bound to an event loop, so they
# are shared per running loop (and dropped with it).
_CLIENTS: dict[tuple[Any, ...], Any] = {}
_ASYNC_CLIENTS: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], Any]] = weakref.WeakKeyDictionary()
_CLIENTS_LOCK = threading.Lock()


def client_key(provider: str, base_url: str | None, timeout: float, key: str | None) -> tuple[Any, ...]:
    """The cache key of a client; the API key enters only as a digest."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:16] if key else None
    return (provider, base_url, float(timeout), digest)


def shared_client(key: tuple[Any, ...], build: Callable[[], Any], *, asynchronous: bool) -> Any:
    """The client for ``key``, built by ``build()`` the first time (per event loop when asynchronous)."""
    if asynchronous:
        try:
            loop: Any = asyncio.get_running_loop()
        except RuntimeError:  # not in a loop: nothing to share the connections with
            return build()
        with _CLIENTS_LOCK:
            clients = _ASYNC_CLIENTS.get(loop)
            if clients is None:
                clients = _ASYNC_CLIENTS[loop] = {}
            client = clients.get(key)
            if client is None:
                client = clients[key] = build()
        return client
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(key)
        if client is None:
            client = _CLIENTS[key] = build()
    return client



def build_client(provider: str, *, key: str, base_url: str | None, timeout: float, asynchronous: bool) -> Any:
    """A new SDK client of ``provider`` (``openai`` or ``anthropic``), with the SDK's retries off."""
    options: dict[str, Any] = {"api_key": key, "base_url": base_url, "timeout": timeout, "max_retries": 0}
    if provider == "openai":
        import openai

        return openai.AsyncOpenAI(**options) if asynchronous else openai.OpenAI(**options)
    if provider == "anthropic":
        import anthropic

        return anthropic.AsyncAnthropic(**options) if asynchronous else anthropic.Anthropic(**options)
    raise ConfigError(f"unknown provider {provider!r}; use one of {', '.join(PROVIDERS)}")


def provider_client(provider: str, key_variable: str, base_url: str | None, timeout: float, *,
                    asynchronous: bool = False) -> Any:
    """The shared SDK client of ``provider`` at ``base_url`` with the key in ``$key_variable``.

    Raises:
        ConfigError: The key is unset and no base URL was given, or the provider is unknown.
    """
    # A server that needs no key still gets one: the SDKs refuse to build a client without.
    key = api_key(key_variable, base_url) or "not-needed"
    return shared_client(client_key(provider, base_url, timeout, key),
                         lambda: build_client(provider, key=key, base_url=base_url, timeout=timeout,
                                              asynchronous=asynchronous),
                         asynchronous=asynchronous)
