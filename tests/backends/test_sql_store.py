"""SQL-specific behaviour on SQLite and PostgreSQL: driver errors, injection, schema creation, ordering."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crm_env import CrmSandbox
from crm_env.backends.base import Condition, Op
from crm_env.backends.sql import SqlStore
from crm_env.backends.sql_engine import create_engine, ensure_schema, forget_schema
from crm_env.backends.sql_schema import build_schema
from crm_env.errors import ConflictError, NotFoundError, ValidationError

CLIENT = "11111111-1111-4111-8111-111111111111"
OTHER = "22222222-2222-4222-8222-222222222222"
INJECTIONS = [
    "'; DROP TABLE crm_client; --",
    "Robert'); DELETE FROM crm_opportunity WHERE ('1'='1",
    "\" OR \"\"=\"",
    "1; SELECT pg_sleep(5)",
    "%' OR name LIKE '%",
    "\\'; TRUNCATE crm_note; --",
]


@pytest.fixture
def store(sql_backend_url: str):
    store = SqlStore(sql_backend_url)
    store.begin_episode()
    yield store
    store.close()


def _client(client_id: str = CLIENT, **fields) -> dict:
    return {"client_id": client_id, "name": "Acme", "industry": None, "email": None, "phone": None,
            "address": None, "status": None, "created_date": None, "owner": None, **fields}


def _schema_shape(conn: sa.Connection) -> dict:
    inspector = sa.inspect(conn)
    tables = sorted(t for t in inspector.get_table_names() if t.startswith("crm_"))
    return {t: ([c["name"] for c in inspector.get_columns(t)], sorted(i["name"] for i in inspector.get_indexes(t)))
            for t in tables}


def test_injection_strings_are_stored_verbatim_and_schema_is_unchanged(sql_backend_url: str) -> None:
    with CrmSandbox(sql_backend_url, as_of="2026-01-15") as box:
        shape = _schema_shape(box.store.connection)
        for text in INJECTIONS:
            client = box.call("create_new_client", {"name": text, "industry": text, "phone": text,
                                                    "address": text, "owner": text})
            assert client.ok, client.error
            cid = client.data["client_id"]
            assert box.call("get_client", {"client_id": cid}).data["name"] == text
            contact = box.call("create_new_contact", {"first_name": text, "last_name": text, "title": text,
                                                      "client_id": cid, "notes": text})
            assert contact.ok
            opp = box.call("create_new_opportunity", {"name": text, "client_id": cid, "owner": text, "notes": text})
            assert box.call("create_quote", {"opportunity_id": opp.data["opportunity_id"], "version": text,
                                             "quote_prefix": text}).ok
            assert box.call("add_note", {"entity_type": "Client", "entity_id": cid, "content": text,
                                         "created_by": text}).ok
            found = box.call("client_search", {"name": text}).data
            assert [r["name"] for r in found["results"]] == [text]
            assert box.call("note_search", {"content": text}).data["total"] == 1
        assert box.call("client_search", {"name": "' OR '1'='1"}).data["total"] == 0
        snapshot = box.snapshot()
        assert sorted(r["name"] for r in snapshot["Client"]) == sorted(INJECTIONS)
        assert _schema_shape(box.store.connection) == shape


def test_schema_creation_is_idempotent(sql_backend_url: str) -> None:
    engine = create_engine(sql_backend_url)
    try:
        metadata = build_schema(engine.dialect.name).metadata
        for _ in range(2):
            forget_schema(engine)
            ensure_schema(engine, metadata)
        with engine.connect() as conn:
            assert len([t for t in sa.inspect(conn).get_table_names() if t.startswith("crm_")]) == 8
    finally:
        engine.dispose()


def test_duplicate_email_from_the_database_is_the_domain_conflict(store: SqlStore) -> None:
    store.insert("Client", _client(email="Straße@x.de"))
    with pytest.raises(ConflictError) as err, store.atomic():
        store.insert("Client", _client(OTHER, email="STRASSE@X.DE"))
    assert "already uses the e-mail" in str(err.value)
    assert [r["client_id"] for r in store.dump()["Client"]] == [CLIENT]


def test_foreign_key_violation_is_not_found_with_the_domain_message(store: SqlStore) -> None:
    contact = {"contact_id": OTHER, "first_name": "A", "last_name": "B", "title": None, "email": None,
               "phone": None, "client_id": CLIENT, "notes": None}
    with pytest.raises(NotFoundError, match=r"No client has client_id='11111111.*use client_search"):
        store.insert("Contact", contact)
    assert store.dump()["Contact"] == []


def test_duplicate_id_and_bad_enum_are_domain_errors(store: SqlStore) -> None:
    store.insert("Client", _client())
    with pytest.raises(ConflictError, match="already exists"):
        store.insert("Client", _client(name="Again"))
    with pytest.raises(ValidationError, match="status"):
        store.insert("Client", _client(OTHER, status="active"))
    with pytest.raises(ValidationError):
        store.insert("Client", _client("not-a-uuid"))
    if store.dialect == "postgresql":  # PostgreSQL text cannot hold NUL; SQLite stores it
        with pytest.raises(ValidationError, match="NUL"):
            store.insert("Client", _client(OTHER, name="nul\x00byte"))
    assert [r["name"] for r in store.dump()["Client"]] == ["Acme"]


def test_order_and_casefold_match_python(store: SqlStore) -> None:
    names = ["b", "B", "a", "Ä", "ß", "z", "Z", "é", "e\u0301", "ǅ", "10", "9", "_", "%", "ﬁ"]
    for i, name in enumerate(names):
        store.insert("Client", _client(f"{i:08d}-1111-4111-8111-111111111111", name=name))
    assert [r["name"] for r in store.find("Client").records] == sorted(names)
    for probe in ["SS", "ss", "Ǆ", "ǆ", "FI", "%", "_", "É"]:
        expected = sorted(n for n in names if probe.casefold() in n.casefold())
        got = [r["name"] for r in store.find("Client", [Condition("name", Op.CONTAINS, probe)]).records]
        assert got == expected, probe
        exact = sorted(n for n in names if probe.casefold() == n.casefold())
        assert [r["name"] for r in store.find("Client", [Condition("name", Op.IEQ, probe)]).records] == exact
    page = store.find("Client", limit=3, offset=len(names) - 1)
    assert page.total == len(names) and len(page.records) == 1
    assert store.find("Client", limit=3, offset=100).total == len(names)


def test_a_rejected_load_is_undone_whole_with_the_domain_error(store: SqlStore) -> None:
    # On PostgreSQL the load is pipelined; a rejected row undoes it and the error is the one a
    # table-by-table load gives, with the earlier load (a committed scope) kept.
    store.load({"Client": [_client()]})
    company = {"company_id": "33333333-3333-4333-8333-333333333333", "name": "Gone", "type": None,
               "industry": None, "address": None, "contacts": None}
    orphan = {"contact_id": OTHER, "first_name": "A", "last_name": "B", "title": None, "email": None,
              "phone": None, "client_id": "55555555-5555-4555-8555-555555555555", "notes": None}
    with pytest.raises(NotFoundError, match=r"No client has client_id='55555555.*use client_search"):
        store.load({"Company": [company], "Contact": [orphan]})
    with pytest.raises(ConflictError, match="already exists"):
        store.load({"Client": [_client(name="Again"), _client(OTHER, name="New")], "Company": [company]})
    with pytest.raises(ValidationError, match="status"):
        store.load({"Client": [_client(OTHER, status="active")]})
    dump = store.dump()
    assert [r["client_id"] for r in dump["Client"]] == [CLIENT]
    assert dump["Company"] == [] and dump["Contact"] == []
    store.load({"Company": [company]})  # the store goes on normally afterwards
    with store.atomic():
        store.insert("Client", _client(OTHER, name="After"))
    assert [r["name"] for r in store.dump()["Client"]] == ["Acme", "After"]
    assert [r["name"] for r in store.dump()["Company"]] == ["Gone"]
