"""Episode isolation on PostgreSQL: concurrent episodes, failing calls, killed connections."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from crm_env import CrmSandbox
from crm_env.backends.sql import SqlStore
from crm_env.backends.sql_engine import create_engine, ensure_schema
from crm_env.backends.sql_schema import build_schema
from crm_env.errors import InfrastructureError

pytestmark = pytest.mark.postgres
TEST_AS_OF = "2026-01-15T09:00:00Z"

CLIENT = "11111111-1111-4111-8111-111111111111"
SEED = {"Client": [{"client_id": CLIENT, "name": "Seeded", "email": "seed@example.com"}]}


def _committed_rows(url: str) -> int:
    engine = create_engine(url)
    try:
        ensure_schema(engine, build_schema("postgresql").metadata)
        with engine.connect() as conn:
            return sum(
                conn.exec_driver_sql(f"SELECT count(*) FROM crm_{t}").scalar_one()
                for t in ("client", "contact", "opportunity", "quote", "contract", "company", "document", "note")
            )
    finally:
        engine.dispose()


def test_concurrent_episodes_with_overlapping_data_stay_isolated(pg_url: str) -> None:
    workers = 10
    barrier = threading.Barrier(workers, timeout=30)
    before = _committed_rows(pg_url)

    def episode(n: int) -> tuple[int, list[str], str]:
        # Same seed → same generated ids; same e-mail and names in every episode.
        with CrmSandbox(pg_url, as_of=TEST_AS_OF, seed=0) as box:
            box.reset(records=SEED)
            barrier.wait()
            created = box.call("create_new_client", {"name": "Same Name", "email": "shared@example.com"})
            assert created.ok, created.error
            barrier.wait()  # every episode now holds an uncommitted row with the same e-mail and id
            box.call("create_new_opportunity", {"name": f"deal {n}", "client_id": created.data["client_id"]})
            dup = box.call("create_new_client", {"name": "Other", "email": "SHARED@example.com"})
            assert dup.error_type == "conflict"
            barrier.wait()
            names = [r["name"] for r in box.snapshot()["Opportunity"]]
            total = box.call("client_search", {}).data["total"]
            return total, names, created.data["client_id"]

    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(episode, range(workers)))
    for n, (total, names, _) in enumerate(results):
        assert total == 2  # the seed and its own client, nobody else's
        assert names == [f"deal {n}"]
    assert len({client_id for *_, client_id in results}) == 1  # ids really did overlap
    assert _committed_rows(pg_url) == before  # nothing was ever committed


def test_failing_call_keeps_seed_and_earlier_writes(pg_url: str) -> None:
    with CrmSandbox(pg_url, as_of=TEST_AS_OF) as box:
        box.reset(records=SEED)
        first = box.call("create_new_opportunity", {"name": "Keep me", "client_id": CLIENT, "amount": 10.0})
        assert first.ok
        before = box.snapshot()
        bad = box.call("create_new_client", {"name": "Dup", "email": "SEED@example.com"})
        assert bad.error_type == "conflict"
        assert box.call("create_new_opportunity", {"name": "x", "client_id": CLIENT, "probability": 150}).ok is False
        assert box.snapshot() == before
        assert box.call("modify_opportunity", {"opportunity_id": first.data["opportunity_id"], "amount": 20.0}).ok


def test_driver_error_inside_a_call_undoes_only_that_call(pg_url: str) -> None:
    store = SqlStore(pg_url)
    try:
        store.begin_episode()
        store.load({"Client": SEED["Client"]})
        with store.atomic():
            store.insert("Company", {"company_id": "22222222-2222-4222-8222-222222222222", "name": "Kept",
                                     "type": None, "industry": None, "address": None, "contacts": ["a"]})
        from crm_env.errors import NotFoundError

        with pytest.raises(NotFoundError, match="client_search"), store.atomic():
            store.insert("Company", {"company_id": "33333333-3333-4333-8333-333333333333", "name": "Gone",
                                     "type": None, "industry": None, "address": None, "contacts": None})
            # The FK fires in the database: the domain check was bypassed on purpose.
            store.insert("Contact", {"contact_id": "44444444-4444-4444-8444-444444444444", "first_name": "A",
                                     "last_name": "B", "title": None, "email": None, "phone": None,
                                     "client_id": "55555555-5555-4555-8555-555555555555", "notes": None})
        dump = store.dump()
        assert [c["name"] for c in dump["Company"]] == ["Kept"]
        assert dump["Company"][0]["contacts"] == ["a"]
        assert [c["client_id"] for c in dump["Client"]] == [CLIENT]
    finally:
        store.close()


def test_killed_connection_surfaces_infrastructure_error_and_leaves_db_unchanged(pg_url: str) -> None:
    before = _committed_rows(pg_url)
    box = CrmSandbox(pg_url, as_of=TEST_AS_OF)
    try:
        box.reset(records=SEED)
        assert box.call("create_new_client", {"name": "Doomed"}).ok
        pid = box.store.connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        engine = create_engine(pg_url)
        with engine.connect() as admin:
            assert admin.exec_driver_sql(f"SELECT pg_terminate_backend({pid})").scalar_one()
        engine.dispose()
        with pytest.raises(InfrastructureError):
            box.call("client_search", {})
        assert _committed_rows(pg_url) == before
        # The next episode reconnects and works.
        box.reset(records=SEED)
        assert box.call("client_search", {}).data["total"] == 1
    finally:
        box.close()


def test_reset_is_a_rollback_not_a_truncate(pg_url: str) -> None:
    with CrmSandbox(pg_url, as_of=TEST_AS_OF) as box:
        box.reset(records=SEED)
        statements: list[str] = []
        sa.event.listen(box.store.connection, "before_cursor_execute",
                        lambda *args: statements.append(args[2]))
        box.reset()
        box.snapshot()
        assert not any("TRUNCATE" in s.upper() or s.upper().startswith("DELETE") for s in statements)
        assert box.snapshot()["Client"] == []


def test_a_load_is_one_round_trip_and_a_failing_call_keeps_the_previous_one(pg_url: str) -> None:
    from psycopg.pq import PipelineStatus

    from crm_env.errors import NotFoundError

    store = SqlStore(pg_url)
    try:
        store.begin_episode()
        sent: list[tuple[str, bool]] = []  # (statement's first words, sent inside a pipeline)

        @sa.event.listens_for(store.connection, "before_cursor_execute")
        def _record(conn, _cursor, statement, _params, _context, _many) -> None:  # type: ignore[no-untyped-def]
            piped = conn.connection.dbapi_connection.info.pipeline_status != PipelineStatus.OFF
            sent.append((" ".join(statement.split()[:2]), piped))

        company = {"company_id": "22222222-2222-4222-8222-222222222222", "name": "Kept", "type": None,
                   "industry": None, "address": None, "contacts": None}
        store.load({"Client": SEED["Client"], "Company": [company]})
        # The savepoint and both tables' INSERTs share one pipeline, hence one sync.
        assert sent == [("SAVEPOINT crm_call", True), ("INSERT INTO", True), ("INSERT INTO", True)]
        sent.clear()
        with store.atomic():
            store.update("Company", company["company_id"], {"name": "Kept too"})
        # The load's pending RELEASE travels with this scope's SAVEPOINT.
        assert sent[0] == ("RELEASE SAVEPOINT", False) and [w for w, _ in sent[1:]] == ["UPDATE crm_company"]
        with pytest.raises(NotFoundError), store.atomic():
            store.insert("Contact", {"contact_id": "44444444-4444-4444-8444-444444444444", "first_name": "A",
                                     "last_name": "B", "title": None, "email": None, "phone": None,
                                     "client_id": "55555555-5555-4555-8555-555555555555", "notes": None})
        dump = store.dump()
        assert [c["name"] for c in dump["Company"]] == ["Kept too"]  # the previous call's write stays
        assert [c["client_id"] for c in dump["Client"]] == [CLIENT] and dump["Contact"] == []
    finally:
        store.close()
