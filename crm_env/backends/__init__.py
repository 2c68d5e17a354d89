"""Store backends, selected by URL.

``memory`` (default), ``sqlite:///path`` / ``sqlite://`` and ``postgresql+psycopg://...``. The
``CRM_ENV_DATABASE_URL`` environment variable supplies the URL when none is given.
"""

from __future__ import annotations

import os

from crm_env.backends.base import Condition, Op, Page, Record, Store
from crm_env.backends.memory import MemoryStore
from crm_env.errors import ConfigError

DATABASE_URL_ENV = "CRM_ENV_DATABASE_URL"


def resolve_url(url: str | None = None) -> str:
    """The backend URL to use: the argument, else ``$CRM_ENV_DATABASE_URL``, else ``memory``."""
    return url or os.environ.get(DATABASE_URL_ENV) or "memory"


def open_store(url: str | None = None) -> Store:
    """Build the store a URL names. Engines are created here, at call time, never at import.

    Raises:
        ConfigError: The URL names no supported backend.
    """
    url = resolve_url(url)
    if url == "memory":
        return MemoryStore()
    if url.startswith(("sqlite", "postgresql")):
        try:
            from crm_env.backends.sql import SqlStore
        except ImportError as exc:  # the SQL backend arrives with its own module
            raise ConfigError(f"the SQL backend is not available: {exc}") from exc
        return SqlStore(url)
    raise ConfigError(
        f"unknown backend {url!r}; use 'memory', 'sqlite:///path.db', 'sqlite://' or 'postgresql+psycopg://user@host/db'"
    )


__all__ = ["DATABASE_URL_ENV", "Condition", "MemoryStore", "Op", "Page", "Record", "Store", "open_store", "resolve_url"]
