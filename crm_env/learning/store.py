"""The learning memory stored by URL: a SQLite file by default, PostgreSQL through the same SQLAlchemy layer.

One table, ``learning_deltas``, holds every memory's deltas, keyed by (memory name, version). Appending
reads the newest version, checks the change against the memory at that version, and inserts the next
version in one transaction; a concurrent writer that took the same version makes the insert fail on the
key, and the append is retried on the newer memory (``APPEND_ATTEMPTS``), so no delta is ever lost and
none is applied against a memory it was not checked on. Rows are never updated or deleted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Self

import sqlalchemy as sa

from crm_env.backends.sql_engine import create_engine, ensure_schema, normalise_url
from crm_env.errors import ConfigError, InfrastructureError
from crm_env.learning.entries import Change, Delta
from crm_env.learning.memory import PlaybookError, PlaybookState, fold

DEFAULT_URL = "sqlite:///learning_memory.db"
DEFAULT_NAME = "default"
APPEND_ATTEMPTS = 20
_META = sa.MetaData()
_DELTAS = sa.Table(
    "learning_deltas", _META,
    sa.Column("memory", sa.String(200), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("body", sa.Text, nullable=False),  # the Delta as JSON
)


class MemoryStore:
    """One named memory in a database (``url``: SQLAlchemy URL; ``name``: which memory of that database).

    Raises:
        ConfigError: A URL that names no usable database (with how to fix it).
        InfrastructureError: The database cannot be reached or fails.
    """

    def __init__(self, url: str = DEFAULT_URL, name: str = DEFAULT_NAME) -> None:
        if not name or len(name) > 200:
            raise ConfigError("a memory name is 1 to 200 characters")
        self.url = normalise_url(url)
        self.name = name
        self._engine = create_engine(self.url)
        if self._engine.dialect.name == "sqlite":
            sa.event.listen(self._engine, "connect", _sqlite_wal)
        try:
            ensure_schema(self._engine, _META)
        except sa.exc.DatabaseError as exc:  # unreachable, or not a database at all (a corrupt file)
            self._engine.dispose()
            raise InfrastructureError(f"cannot open the learning memory at {_safe(self.url)}: {exc.orig}") from None
        self._state = PlaybookState()  # a cache of the memory at its newest known version

    def __repr__(self) -> str:
        return f"MemoryStore({_safe(self.url)!r}, name={self.name!r})"

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------- reads
    def deltas(self, after: int = 0) -> list[Delta]:
        """The deltas newer than version ``after``, in order."""
        with self._connect() as conn:
            return self._read(conn, after)

    def state(self, version: int | None = None) -> PlaybookState:
        """The memory at ``version`` (the newest when None), folded from the stored deltas."""
        if version is not None:
            return fold(self.deltas(), version)
        with self._connect() as conn:
            self._catch_up(conn)
        return PlaybookState(self._state.version, dict(self._state.entries))  # the cache stays the store's

    # ------------------------------------------------------------------------------------------- writes
    def append(self, change: Change) -> Delta:
        """Store one change as the next version, checked against the newest memory (see the module docstring).

        Raises:
            PlaybookError: The change cannot apply to the memory (nothing is written).
        """
        return self.extend([change])[0]

    def extend(self, changes: Sequence[Change], *, at_version: int | None = None,
               folded: PlaybookState | None = None) -> list[Delta]:
        """Store changes as the next versions in one transaction: all of them or none.

        Args:
            changes: Applied in order, each checked against the memory the ones before it leave.
            at_version: When given, the memory must be at this version (a learning run that owns the
                memory checks that nobody else wrote to it).
            folded: With ``at_version``: the memory these changes lead from that version, as the caller
                already checked and folded them (a learning run's learner has); they are not folded again.

        Raises:
            PlaybookError: A change cannot apply, or the memory is not at ``at_version`` (nothing is written).
        """
        for _ in range(APPEND_ATTEMPTS):
            try:
                with self._connect() as conn:
                    if self._engine.dialect.name == "sqlite":
                        # take the write lock before reading: a reader upgrading to a writer while another
                        # writer waits is a deadlock SQLite answers with "database is locked" at once
                        conn.execute(_DELTAS.update().where(sa.false()).values(body=_DELTAS.c.body))
                    self._catch_up(conn)
                    if at_version is not None and self._state.version != at_version:
                        raise PlaybookError(f"{self!r} is at version {self._state.version}, not {at_version}: "
                                            "another writer changed it; give each learning run its own memory")
                    if folded is not None and at_version is not None:
                        if folded.version != at_version + len(changes):
                            raise PlaybookError(f"a memory folded to version {folded.version} cannot come from "
                                                f"{len(changes)} change(s) at version {at_version}")
                        trial = PlaybookState(folded.version, dict(folded.entries))  # the cache is the store's own
                        deltas = [Delta(version=at_version + n, change=change) for n, change in enumerate(changes, 1)]
                    else:
                        trial = PlaybookState(self._state.version, dict(self._state.entries))
                        deltas = []
                        for change in changes:
                            deltas.append(Delta(version=trial.version + 1, change=change))
                            trial.apply(deltas[-1])
                    if deltas:
                        conn.execute(_DELTAS.insert(), [{"memory": self.name, "version": d.version,
                                                         "body": d.model_dump_json()} for d in deltas])
            except sa.exc.IntegrityError:
                continue  # another writer took this version: read it and try again
            self._state = trial
            return deltas
        raise InfrastructureError(f"could not append to {self!r} after {APPEND_ATTEMPTS} attempts under contention")

    def load(self, deltas: Sequence[Delta]) -> None:
        """Store an imported history into an empty memory, all of it or nothing.

        Raises:
            PlaybookError: The memory is not empty, or the deltas do not fold.
        """
        fold(deltas)
        try:
            with self._connect() as conn:
                if self._read(conn, 0):
                    raise PlaybookError(f"{self!r} is not empty: import into a new memory name")
                if deltas:
                    conn.execute(_DELTAS.insert(), [{"memory": self.name, "version": d.version,
                                                     "body": d.model_dump_json()} for d in deltas])
        except sa.exc.IntegrityError:
            raise PlaybookError(f"{self!r} was written to during the import; nothing was imported") from None
        self._state = PlaybookState()

    # ------------------------------------------------------------------------------------------- helpers
    @contextmanager
    def _connect(self) -> Iterator[sa.Connection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        try:
            with self._engine.begin() as conn:
                yield conn
        except sa.exc.IntegrityError:
            raise
        except sa.exc.DatabaseError as exc:
            raise InfrastructureError(f"the learning memory at {_safe(self.url)} failed: {exc.orig}") from None

    def _read(self, conn: sa.Connection, after: int) -> list[Delta]:
        rows = conn.execute(sa.select(_DELTAS.c.body).where(_DELTAS.c.memory == self.name,
                                                            _DELTAS.c.version > after).order_by(_DELTAS.c.version))
        deltas = []
        for (body,) in rows:
            try:
                deltas.append(Delta.model_validate(json.loads(body)))
            except ValueError as exc:  # json and pydantic errors: a row written by something else
                raise PlaybookError(f"{self!r} holds a delta that does not parse ({str(exc)[:200]}); the memory is "
                                    "corrupt: restore it from a memory.json export into a new memory") from None
        return deltas

    def _catch_up(self, conn: sa.Connection) -> None:
        for delta in self._read(conn, self._state.version):
            self._state.apply(delta)


def snapshot_memories(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every learning memory a database holds, by name: its deltas in version order, as stored (none: the
    database has no memory table). Creates no table.

    Raises:
        PlaybookError: A stored delta is not JSON (the memory is corrupt).
        InfrastructureError: The database cannot be reached or read.
    """
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table(_DELTAS.name):
                return {}
            rows = conn.execute(sa.select(_DELTAS.c.memory, _DELTAS.c.body)
                                .order_by(_DELTAS.c.memory, _DELTAS.c.version)).all()
    except sa.exc.DatabaseError as exc:
        raise InfrastructureError(f"cannot read the learning memories at {_safe(url)}: {exc.orig}") from None
    finally:
        engine.dispose()
    memories: dict[str, list[dict[str, Any]]] = {}
    for name, body in rows:
        try:
            memories.setdefault(name, []).append(json.loads(body))
        except ValueError:
            raise PlaybookError(f"the learning memory {name!r} at {_safe(url)} holds a delta that is not JSON; it "
                                "is corrupt: restore it from a memory.json export into a new memory") from None
    return memories


def restore_memories(url: str, memories: dict[str, list[Any]], *, check_only: bool = False) -> int:
    """Store a snapshot's learning memories: each into an empty memory of its name, or nothing where the
    database already holds that very history. Every memory is checked before any is written; returns
    how many were stored (``check_only``: would be).

    Raises:
        PlaybookError: A memory's deltas do not validate or fold, or the database holds another history
            under its name (nothing is written).
        InfrastructureError: The database cannot be reached.
    """
    from crm_env.learning.memory import validate_deltas

    todo = []
    for name, raw in memories.items():
        deltas = validate_deltas(raw, f"learning memory {name!r}")
        with MemoryStore(url, name) as store:
            held = store.deltas()
        if held == deltas:
            continue
        if held:
            raise PlaybookError(f"the database already holds a different learning memory named {name!r} "
                                f"({len(held)} delta(s)); restore into a new database")
        todo.append((name, deltas))
    if not check_only:
        for name, deltas in todo:
            with MemoryStore(url, name) as store:
                store.load(deltas)
    return len(todo)


def _sqlite_wal(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    """A write-ahead log, synced at checkpoints: a commit costs a write instead of several fsyncs. A killed
    process loses no commit; a power cut may lose the last ones, which a learning run restores from its
    synced events when it resumes."""
    dbapi_conn.execute("PRAGMA journal_mode = WAL")
    dbapi_conn.execute("PRAGMA synchronous = NORMAL")


def _safe(url: str) -> str:
    """The URL without its password (for messages)."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<invalid URL>"
