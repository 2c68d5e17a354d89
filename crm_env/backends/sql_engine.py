"""Engines and schema creation for the SQL store: built at call time from a URL, never at import."""

from __future__ import annotations

import threading

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from crm_env.errors import ConfigError

_READY: set[tuple[str, tuple[str, ...]]] = set()  # (URL, tables) this process has already ensured
_READY_LOCK = threading.Lock()
# Any fixed 64-bit number: serialises concurrent schema creation across processes.
_SCHEMA_LOCK_KEY = 0x63726D5F656E76


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3 here (SQLAlchemy would pick psycopg2)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_memory_sqlite(url: str) -> bool:
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")


def create_engine(url: str) -> sa.Engine:
    """An engine for one store: a single pooled connection, tuned per dialect.

    Raises:
        ConfigError: The URL names a driver that is not installed or a dialect we do not support.
    """
    url = normalise_url(url)
    try:
        backend = make_url(url).get_backend_name()
    except sa.exc.ArgumentError as exc:
        raise ConfigError(f"invalid database URL: {exc}") from None
    try:
        if backend == "sqlite":
            return _sqlite_engine(url)
        if backend == "postgresql":
            # lock_timeout: a store must never sit waiting on another session's lock; with episode
            # keys nothing should ever wait, so a wait means a bug and becomes an InfrastructureError.
            # prepare_threshold=None: psycopg drops its prepared statements on every ROLLBACK, and a store
            # rolls back at each episode reset and failed call, so preparing only cost extra round trips.
            return sa.create_engine(
                url,
                pool_size=1,
                max_overflow=4,
                pool_pre_ping=False,
                connect_args={
                    "options": "-c lock_timeout=10s -c TimeZone=UTC",
                    "connect_timeout": 10,
                    "prepare_threshold": None,
                },
            )
    except (ImportError, sa.exc.NoSuchModuleError) as exc:
        raise ConfigError(f"cannot use {backend!r}: {exc}") from None
    raise ConfigError(f"unsupported SQL backend {backend!r}; use postgresql+psycopg:// or sqlite://")


def _sqlite_engine(url: str) -> sa.Engine:
    memory = is_memory_sqlite(url)
    engine = sa.create_engine(
        url,
        poolclass=StaticPool if memory else None,
        connect_args={"check_same_thread": False, "timeout": 10},
    )

    # pysqlite's own transaction handling breaks SAVEPOINT; take it over, as SQLAlchemy documents.
    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None
        dbapi_conn.execute("PRAGMA foreign_keys = ON")

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN")

    return engine


def ensure_schema(engine: sa.Engine, metadata: sa.MetaData) -> None:
    """Create any missing table and index; idempotent and safe when several processes race."""
    url = engine.url.render_as_string(hide_password=False)
    key = (url, tuple(sorted(metadata.tables)))  # the CRM's tables and the learning memory's share URLs
    memory = engine.dialect.name == "sqlite" and is_memory_sqlite(url)
    with _READY_LOCK:
        if not memory and key in _READY:
            return
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_SCHEMA_LOCK_KEY})")
            metadata.create_all(conn, checkfirst=True)
        if not memory:
            _READY.add(key)


def forget_schema(engine: sa.Engine) -> None:
    """Make the next ``ensure_schema`` check the database again (after dropping tables)."""
    url = engine.url.render_as_string(hide_password=False)
    with _READY_LOCK:
        _READY.difference_update({key for key in _READY if key[0] == url})


def client_connections(conn: sa.Connection) -> int:
    """The client connections a PostgreSQL server holds now. Call it in autocommit mode: inside one
    transaction ``pg_stat_activity`` shows the same snapshot every time."""
    return int(conn.execute(sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")).scalar_one())
