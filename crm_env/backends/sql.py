"""The SQL store: PostgreSQL (psycopg 3, the production target) and SQLite, on SQLAlchemy 2 Core.

Episode isolation:

- An episode is one database transaction that is never committed. ``begin_episode`` rolls it back
  (a single ROLLBACK, no TRUNCATE, no DELETE) and the next statement opens the next one.
- Every ``atomic()`` scope (one tool call) writes under a SAVEPOINT, taken lazily before its first
  write so read-only calls cost no extra round trip. A failure rolls back to it, so only that call
  is undone; the seed and earlier calls stay.
- Rows carry the store's random episode key (see ``sql_schema``), so concurrent episodes on one
  database never contend for the same primary-key or unique-index entry and never wait on each
  other; under READ COMMITTED they cannot see each other's uncommitted rows anyway.
- A lost connection raises ``InfrastructureError``; the server has already rolled the episode back,
  so the database is as before it. The next ``begin_episode`` reconnects.

``persistent=True`` (used by ``crm-env db``) works on the committed data under episode key 0
instead: ``commit()`` makes its writes durable and ``begin_episode`` deletes that data.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import sqlalchemy as sa
import sqlalchemy.exc as sa_exc

from crm_env.backends import sql_errors
from crm_env.backends.base import Condition, Page, Record, matches
from crm_env.backends.sql_engine import create_engine, ensure_schema
from crm_env.backends.sql_query import episode_clause, order_by, record_columns, split
from crm_env.backends.sql_schema import EPISODE, EntityTable, build_schema, shadow
from crm_env.errors import CrmEnvError, InfrastructureError
from crm_env.schema.enums import Entity

T = TypeVar("T")
_SCOPE = "crm_call"  # the savepoint of an atomic() scope
_WRITE = "crm_write"  # the savepoint of a write made outside any scope


class _Atomic:
    __slots__ = ("_store",)

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    def __enter__(self) -> None:
        self._store._depth += 1

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        store = self._store
        store._depth -= 1
        # A nested scope joins the outer one: the outermost scope decides, as in the memory store.
        if store._depth or not store._savepoint:
            return
        store._savepoint = False
        if store._broken:
            return
        if exc_type is None:
            # Released together with the next scope's SAVEPOINT, in one round trip (or dropped by
            # the episode's ROLLBACK): a committed scope's savepoint has nothing left to undo.
            store._release_pending = True
        else:
            store._sql_batch(f"ROLLBACK TO SAVEPOINT {_SCOPE}", f"RELEASE SAVEPOINT {_SCOPE}")


class SqlStore:
    """A CRM store in a SQL database; one episode at a time per instance, one connection each.

    Args:
        url: ``postgresql+psycopg://user@host/db`` (``postgresql://`` is taken to mean psycopg 3),
            ``sqlite:///path.db`` or ``sqlite://`` (in memory).
        persistent: Work on the committed data (episode key 0) instead of a private, never-committed
            episode; for the ``crm-env db`` commands.
    """

    def __init__(self, url: str, *, persistent: bool = False) -> None:
        self.url = url
        self._engine = create_engine(url)
        self.dialect = self._engine.dialect.name
        self._schema = build_schema(self.dialect)
        self._persistent = persistent
        # 63 random bits: collisions between concurrent episodes are practically impossible.
        self._key = 0 if persistent else secrets.randbits(63) or 1
        self._conn: sa.Connection | None = None
        self._depth = 0
        self._savepoint = False
        self._release_pending = False
        self._broken = False
        self._get: dict[Entity, sa.Select] = {}
        try:
            ensure_schema(self._engine, self._schema.metadata)
            self._conn = self._engine.connect()
        except sa_exc.DBAPIError as exc:
            self._engine.dispose()
            raise sql_errors.infrastructure(exc) from exc

    # -- connection and transactions -------------------------------------------------------------

    @property
    def connection(self) -> sa.Connection:
        """The episode's connection (tests use it to find the server process)."""
        if self._conn is None or self._broken:
            raise InfrastructureError("the database connection was lost; start a new episode")
        return self._conn

    def _run(self, func: Callable[[sa.Connection], T]) -> T:
        conn = self.connection
        try:
            return func(conn)
        except sa_exc.StatementError as exc:
            if sql_errors.is_infrastructure(exc):
                self._broken = True
                raise sql_errors.infrastructure(exc) from exc
            if sql_errors.bad_text(exc):
                raise sql_errors.bad_text_error() from exc
            raise

    def _sql(self, text: str) -> None:
        self._run(lambda conn: conn.exec_driver_sql(text))

    def _sql_batch(self, *statements: str) -> None:
        if self.dialect == "postgresql":  # psycopg sends parameterless multi-statements in one trip
            self._sql("; ".join(statements))
        else:
            for text in statements:
                self._sql(text)

    def begin_episode(self) -> None:
        self._depth = 0
        self._savepoint = False
        self._release_pending = False
        if self._conn is not None and not self._broken:
            try:
                self._conn.rollback()
            except sa_exc.DBAPIError:
                self._broken = True  # the server has rolled it back for us
        if self._conn is None or self._broken:
            self._reconnect()
        if self._persistent:
            self._delete_all()

    def _reconnect(self) -> None:
        if self._conn is not None:
            try:
                self._conn.invalidate()
                self._conn.close()
            except sa_exc.SQLAlchemyError:
                pass
        try:
            self._conn = self._engine.connect()
        except sa_exc.DBAPIError as exc:
            self._conn = None
            raise sql_errors.infrastructure(exc) from exc
        self._broken = False

    def commit(self) -> None:
        """Make the writes durable (persistent stores only; an episode is never committed)."""
        if not self._persistent:
            raise InfrastructureError("episodes are never committed; open the store with persistent=True")
        self._run(lambda conn: conn.commit())

    def atomic(self) -> _Atomic:
        return _Atomic(self)

    def _write(
        self, entity: Entity, record: Callable[[], Record], new: bool, func: Callable[[sa.Connection], T]
    ) -> T:
        """Run one write under the scope's savepoint (or its own), mapping its errors."""
        if self._depth:
            if not self._savepoint:
                if self._release_pending:
                    self._sql_batch(f"RELEASE SAVEPOINT {_SCOPE}", f"SAVEPOINT {_SCOPE}")
                else:
                    self._sql(f"SAVEPOINT {_SCOPE}")
                self._release_pending = False
                self._savepoint = True
            savepoint = _SCOPE
        else:
            savepoint = _WRITE
            self._sql(f"SAVEPOINT {_WRITE}")
        try:
            result = self._run(func)
        except sa_exc.StatementError as exc:
            self._sql(f"ROLLBACK TO SAVEPOINT {savepoint}")
            if savepoint == _WRITE:
                self._sql(f"RELEASE SAVEPOINT {_WRITE}")
            raise sql_errors.diagnose(self, entity, record(), exc, new=new) from exc
        except CrmEnvError:
            if not self._broken:
                self._sql(f"ROLLBACK TO SAVEPOINT {savepoint}")
                if savepoint == _WRITE:
                    self._sql(f"RELEASE SAVEPOINT {_WRITE}")
            raise
        if savepoint == _WRITE:
            self._sql(f"RELEASE SAVEPOINT {_WRITE}")
        return result

    # -- records ---------------------------------------------------------------------------------

    def _table(self, entity: Entity) -> EntityTable:
        return self._schema.tables[Entity(entity)]

    def _params(self, et: EntityTable, record: Mapping[str, Any]) -> dict[str, Any]:
        params = {f: record.get(f) for f in et.fields}
        for f in et.shadows:
            value = params[f]
            params[shadow(f)] = value.casefold() if isinstance(value, str) else value
        params[EPISODE] = self._key
        return params

    def load(self, records: Mapping[Entity, Sequence[Record]]) -> None:
        by_entity = {Entity(e): rows for e, rows in records.items()}
        for entity in self._schema.load_order:
            rows = by_entity.get(entity)
            if not rows:
                continue
            et = self._table(entity)
            params = [self._params(et, row) for row in rows]
            self._write(
                entity, lambda r=rows: dict(r[0]), True, lambda conn, t=et.table, p=params: conn.execute(t.insert(), p)
            )

    def get(self, entity: Entity, record_id: str) -> Record | None:
        if not isinstance(record_id, str):
            return None
        et = self._table(entity)
        stmt = self._get.get(et.entity)
        if stmt is None:
            stmt = sa.select(*record_columns(et)).where(
                episode_clause(et), et.table.c[et.id_field] == sa.bindparam("record_id")
            )
            self._get[et.entity] = stmt
        row = self._run(lambda conn: conn.execute(stmt, {"episode": self._key, "record_id": record_id}).first())
        return None if row is None else dict(zip(et.fields, row, strict=True))

    def insert(self, entity: Entity, record: Record) -> None:
        et = self._table(entity)
        params = self._params(et, record)
        self._write(et.entity, lambda: record, True, lambda conn: conn.execute(et.table.insert(), params))

    def _by_id(self, et: EntityTable, record_id: str) -> sa.ColumnElement:
        return sa.and_(et.table.c[EPISODE] == self._key, et.table.c[et.id_field] == record_id)

    def update(self, entity: Entity, record_id: str, changes: Record) -> None:
        et = self._table(entity)
        values = {f: v for f, v in changes.items() if f in et.table.c and f != EPISODE}
        for f in et.shadows:
            if f in values:
                values[shadow(f)] = values[f].casefold() if isinstance(values[f], str) else values[f]
        if not values:
            if self.get(entity, record_id) is None:
                raise KeyError(record_id)
            return
        stmt = et.table.update().where(self._by_id(et, record_id)).values(values)
        merged = lambda: {**(self.get(entity, record_id) or {}), **changes}
        result = self._write(et.entity, merged, False, lambda conn: conn.execute(stmt))
        if result.rowcount == 0:
            raise KeyError(record_id)  # as the memory store does for a missing record

    def delete(self, entity: Entity, record_id: str) -> None:
        et = self._table(entity)
        stmt = et.table.delete().where(self._by_id(et, record_id))
        result = self._write(et.entity, lambda: {et.id_field: record_id}, False, lambda conn: conn.execute(stmt))
        if result.rowcount == 0:
            raise KeyError(record_id)

    def find(
        self,
        entity: Entity,
        conditions: Sequence[Condition] = (),
        *,
        limit: int | None = None,
        offset: int = 0,
    ) -> Page:
        et = self._table(entity)
        where, rest = split(et, conditions, self.dialect)
        columns = record_columns(et)
        base = sa.select(*columns).where(episode_clause(et), *where).order_by(*order_by(et))
        params = {"episode": self._key}
        if rest:
            # Python evaluates what SQL cannot; the rows arrive already in the memory store's order.
            rows = self._run(lambda conn: conn.execute(base, params).all())
            records = [dict(zip(et.fields, r, strict=True)) for r in rows]
            records = [r for r in records if all(matches(r, c) for c in rest)]
            end = None if limit is None else offset + limit
            return Page(total=len(records), records=records[offset:end])
        # One round trip: the window count is taken before LIMIT / OFFSET apply.
        stmt = base.add_columns(sa.func.count().over().label("_total"))
        if limit is not None:
            stmt = stmt.limit(limit)
        if offset:
            stmt = stmt.offset(offset)
        rows = self._run(lambda conn: conn.execute(stmt, params).all())
        if rows:
            total = rows[0][-1]
        elif offset:
            count = sa.select(sa.func.count()).select_from(et.table).where(episode_clause(et), *where)
            total = self._run(lambda conn: conn.execute(count, params).scalar_one())
        else:
            total = 0
        n = len(et.fields)
        return Page(total=total, records=[dict(zip(et.fields, r[:n], strict=True)) for r in rows])

    def dump(self) -> dict[Entity, list[Record]]:
        out: dict[Entity, list[Record]] = {}
        for entity, et in self._schema.tables.items():
            stmt = sa.select(*record_columns(et)).where(episode_clause(et)).order_by(et.table.c[et.id_field])
            rows = self._run(lambda conn, stmt=stmt: conn.execute(stmt, {"episode": self._key}).all())
            out[entity] = [dict(zip(et.fields, r, strict=True)) for r in rows]
        return out

    def _delete_all(self) -> None:
        for entity in reversed(self._schema.load_order):
            table = self._table(entity).table
            self._run(lambda conn, t=table: conn.execute(t.delete().where(t.c[EPISODE] == self._key)))

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                if not self._broken:
                    conn.rollback()
                conn.close()
            except sa_exc.SQLAlchemyError:
                pass
        self._engine.dispose()
