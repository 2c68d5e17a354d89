"""The SQL store: PostgreSQL (psycopg 3, the production target) and SQLite, on SQLAlchemy 2 Core.

Episode isolation:

- An episode is one database transaction that is never committed. ``begin_episode`` rolls it back
  (a single ROLLBACK, no TRUNCATE, no DELETE) and the next statement opens the next one.
- Every ``atomic()`` scope (one tool call) writes under a SAVEPOINT, taken lazily before its first
  write so read-only calls cost no extra round trip. A failure rolls back to it, so only that call
  is undone; the seed and earlier calls stay. A committed scope's RELEASE travels with the next
  scope's SAVEPOINT. On PostgreSQL ``load`` sends its savepoint and all its INSERTs in one pipeline
  (one round trip instead of one per table).
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
from crm_env.backends.sql_query import clause, episode_clause, order_by, plan, record_columns
from crm_env.backends.sql_schema import EPISODE, EntityTable, build_schema, shadow
from crm_env.errors import CrmEnvError, InfrastructureError
from crm_env.schema.enums import Entity

T = TypeVar("T")
_SCOPE = "crm_call"  # the savepoint of an atomic() scope
_WRITE = "crm_write"  # the savepoint of a write made outside any scope
_MAX_SHAPES = 1024  # cached statement shapes per store; the cache starts over beyond this


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
        # Statements built once per shape, with bind parameters (see sql_query.plan).
        self._finds: dict[tuple, tuple[sa.Select, sa.Select | None]] = {}
        self._updates: dict[tuple, sa.Update] = {}
        self._deletes: dict[Entity, sa.Delete] = {}
        self._inserts: dict[Entity, sa.Insert] = {}
        try:
            ensure_schema(self._engine, self._schema.metadata)
            self._conn = self._engine.connect()
        except sa_exc.DBAPIError as exc:
            self._engine.dispose()
            raise sql_errors.infrastructure(exc) from exc

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as what opens it: unpickling connects anew, under a new episode key (no episode travels)."""
        return (_reopen, (self.url, self._persistent))

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
                self._end_transaction()
            except sa_exc.DBAPIError:
                self._broken = True  # the server has rolled it back for us
        if self._conn is None or self._broken:
            self._reconnect()
        if self._persistent:
            self._delete_all()

    def _end_transaction(self) -> None:
        """Roll the episode back; on PostgreSQL, open the next one in the same round trip."""
        conn = self._conn
        assert conn is not None
        if self.dialect != "postgresql" or self._persistent:
            conn.rollback()
            return
        from psycopg.pq import TransactionStatus

        status = conn.connection.dbapi_connection.info.transaction_status
        if status == TransactionStatus.IDLE:
            return  # nothing to roll back; psycopg begins the transaction with the next statement
        if status not in (TransactionStatus.INTRANS, TransactionStatus.INERROR):
            conn.rollback()  # a connection in an odd state: let the driver sort it out (or fail)
            return
        # Not Connection.rollback(): one simple-protocol round trip ends this episode and begins the
        # next, where psycopg would send ROLLBACK now and BEGIN separately before the next statement.
        conn.exec_driver_sql("ROLLBACK; BEGIN")

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
            self._undo(savepoint)
            raise sql_errors.diagnose(self, entity, record(), exc, new=new) from exc
        except CrmEnvError:
            if not self._broken:
                self._undo(savepoint)
            raise
        if savepoint == _WRITE:
            self._sql(f"RELEASE SAVEPOINT {_WRITE}")
        return result

    def _pipeline(self, prefix: Sequence[str], func: Callable[[sa.Connection], T]) -> T:
        """PostgreSQL: send ``prefix`` (savepoint bookkeeping) and ``func``'s statements in one pipeline,
        so they cost one round trip; ``func``'s results must not be read (INSERTs: SQLAlchemy looks at
        a result before the pipeline has it, so rows and rowcounts would read as empty).

        Worth it only for many statements (a load): psycopg flushes every pipelined statement on its
        own, and for a single write a pipeline measured slower than RELEASE+SAVEPOINT in one simple
        query followed by the write.

        A statement's error surfaces at the closing sync (or while a later one is sent) and is raised
        as SQLAlchemy would raise it. The bookkeeping statements cannot fail on a healthy connection in
        a healthy transaction: if one does (a savepoint or transaction-state error), the episode's
        savepoints can no longer be trusted and the connection is given up, as for a lost connection.
        """
        import psycopg

        def run(conn: sa.Connection) -> T:
            raw = conn.connection.dbapi_connection
            try:
                with raw.pipeline():
                    for text in prefix:
                        conn.exec_driver_sql(text)
                    return func(conn)
            except psycopg.Error as exc:  # raised by the sync, outside SQLAlchemy: wrap it alike
                raise sa_exc.DBAPIError.instance(None, None, exc, psycopg.Error, dialect=self._engine.dialect) from exc

        try:
            return self._run(run)
        except sa_exc.StatementError as exc:
            if (sql_errors.sqlstate(exc) or "").startswith(("3B", "25")):
                self._broken = True
                raise sql_errors.infrastructure(exc) from exc
            raise

    def _undo(self, savepoint: str) -> None:
        if savepoint == _WRITE:
            self._sql_batch(f"ROLLBACK TO SAVEPOINT {_WRITE}", f"RELEASE SAVEPOINT {_WRITE}")
        else:
            self._sql(f"ROLLBACK TO SAVEPOINT {savepoint}")

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
        batches = []
        for entity in self._schema.load_order:
            rows = by_entity.get(entity)
            if rows:
                et = self._table(entity)
                batches.append((entity, rows, et.table, [self._params(et, row) for row in rows]))
        if not batches:
            return
        # One savepoint for the whole load (all or nothing), released lazily like a tool call's.
        with self.atomic():
            if self.dialect == "postgresql" and not self._savepoint:
                # The savepoint and every INSERT in one round trip. A rejected row is rare (a seed the
                # domain checks would refuse): undo the lot and replay it one table at a time below,
                # under the same savepoint, which finds the offending table and maps its error as before.
                prefix = [f"RELEASE SAVEPOINT {_SCOPE}"] if self._release_pending else []
                prefix.append(f"SAVEPOINT {_SCOPE}")
                self._release_pending = False
                self._savepoint = True
                try:
                    self._pipeline(prefix, lambda conn: [conn.execute(t.insert(), p) for _, _, t, p in batches])
                    return
                except sa_exc.StatementError:
                    self._undo(_SCOPE)
                except CrmEnvError:
                    if self._broken:
                        raise
                    self._undo(_SCOPE)
            for entity, rows, table, params in batches:
                self._write(
                    entity,
                    lambda r=rows: dict(r[0]),
                    True,
                    lambda conn, t=table, p=params: conn.execute(t.insert(), p),
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
        stmt = self._inserts.get(et.entity)
        if stmt is None:
            stmt = self._inserts[et.entity] = et.table.insert()
        self._write(et.entity, lambda: record, True, lambda conn: conn.execute(stmt, params))

    @staticmethod
    def _by_id(et: EntityTable) -> sa.ColumnElement:
        # Not named after columns: UPDATE reserves those names for its SET values.
        return sa.and_(
            et.table.c[EPISODE] == sa.bindparam("b_episode"), et.table.c[et.id_field] == sa.bindparam("b_record_id")
        )

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
        key = (et.entity, tuple(values))
        stmt = self._updates.get(key)
        if stmt is None:
            if len(self._updates) >= _MAX_SHAPES:
                self._updates.clear()
            # Bind names must differ from the column names SET assigns; "v_" keeps them apart.
            stmt = et.table.update().where(self._by_id(et)).values(
                {f: sa.bindparam(f"v_{f}", type_=et.table.c[f].type) for f in values}
            )
            self._updates[key] = stmt
        params = {f"v_{f}": v for f, v in values.items()}
        params["b_episode"] = self._key
        params["b_record_id"] = record_id
        merged = lambda: {**(self.get(entity, record_id) or {}), **changes}
        result = self._write(et.entity, merged, False, lambda conn: conn.execute(stmt, params))
        if result.rowcount == 0:
            raise KeyError(record_id)  # as the memory store does for a missing record

    def delete(self, entity: Entity, record_id: str) -> None:
        et = self._table(entity)
        stmt = self._deletes.get(et.entity)
        if stmt is None:
            stmt = self._deletes[et.entity] = et.table.delete().where(self._by_id(et))
        params = {"b_episode": self._key, "b_record_id": record_id}
        result = self._write(et.entity, lambda: {et.id_field: record_id}, False, lambda conn: conn.execute(stmt, params))
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
        shapes: list[tuple] = []
        params: dict[str, Any] = {"episode": self._key}
        rest: list[Condition] = []
        for condition in conditions:
            planned = plan(et, condition)
            if planned is None:
                rest.append(condition)
            else:
                shape, value = planned
                params[f"c{len(shapes)}"] = value
                shapes.append(shape)
        paged = not rest
        if paged:
            # One round trip: the window count is taken before LIMIT / OFFSET apply.
            if limit is not None:
                params["limit"] = limit
            if offset:
                params["offset"] = offset
        key = (et.entity, tuple(shapes), paged, paged and limit is not None, paged and bool(offset))
        cached = self._finds.get(key)
        if cached is None:
            cached = self._finds[key] = self._find_statements(et, *key[1:])
        stmt, count = cached
        if not paged:
            # Python evaluates what SQL cannot; the rows arrive already in the memory store's order.
            rows = self._run(lambda conn: conn.execute(stmt, params).all())
            fields = et.fields
            records = [dict(zip(fields, r, strict=True)) for r in rows]
            records = [r for r in records if all(matches(r, c) for c in rest)]
            end = None if limit is None else offset + limit
            return Page(total=len(records), records=records[offset:end])
        rows = self._run(lambda conn: conn.execute(stmt, params).all())
        if rows:
            total = rows[0][-1]
        elif offset:
            assert count is not None
            total = self._run(lambda conn: conn.execute(count, params).scalar_one())
        else:
            total = 0
        fields = et.fields
        n = len(fields)
        return Page(total=total, records=[dict(zip(fields, r[:n], strict=True)) for r in rows])

    def _find_statements(
        self, et: EntityTable, shapes: tuple[tuple, ...], paged: bool, limited: bool, offset: bool
    ) -> tuple[sa.Select, sa.Select | None]:
        if len(self._finds) >= _MAX_SHAPES:
            self._finds.clear()
        where = [clause(et, shape, f"c{i}", self.dialect) for i, shape in enumerate(shapes)]
        base = sa.select(*record_columns(et)).where(episode_clause(et), *where).order_by(*order_by(et))
        if not paged:
            return base, None
        stmt = base.add_columns(sa.func.count().over().label("_total"))
        if limited:
            stmt = stmt.limit(sa.bindparam("limit", type_=sa.Integer()))
        if offset:
            stmt = stmt.offset(sa.bindparam("offset", type_=sa.Integer()))
        count = sa.select(sa.func.count()).select_from(et.table).where(episode_clause(et), *where)
        return stmt, count

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


def _reopen(url: str, persistent: bool) -> SqlStore:
    return SqlStore(url, persistent=persistent)
