"""Client and contact tools: happy paths, every guard, atomicity, copies."""

from __future__ import annotations

import copy

import pytest

# A well-formed id that no record has.
MISSING_ID = "00000000-0000-4000-8000-000000000000"


# --- create_new_client -------------------------------------------------------------------------


def test_create_client_stores_given_fields_defaults_and_clock_stamp(crm, sandbox):
    client = crm.client(name="Acme Corp", email="Sales@Acme.com", industry="Retail", owner="Kim")
    assert client["status"] == "Prospect"  # documented default
    assert client["email"] == "Sales@Acme.com"  # stored as given; only comparisons fold case
    # created_date comes from the episode clock (2026-01-15T09:00Z in conftest), not the wall clock
    assert client["created_date"] == "2026-01-15T09:00:00Z"
    assert crm.get("Client", client["client_id"]) == client
    assert [c.op.value for c in sandbox.changes] == ["create"]


@pytest.mark.parametrize(
    ("arguments", "hints"),
    [
        ({}, ["missing required argument 'name'", "Allowed arguments"]),
        ({"name": "   "}, ["must not be blank"]),
        ({"name": "x" * 2001}, ["too long", "2000"]),
        ({"name": 42}, ["name must be a string"]),
        ({"name": "Acme", "email": "not-an-email"}, ["name@example.com"]),
        ({"name": "Acme", "status": "active"}, ["Active", "Prospect", "Inactive", "case-sensitive"]),
        ({"name": "Acme", "website": "acme.com"}, ["unknown argument 'website'", "Allowed arguments", "owner"]),
    ],
)
def test_create_client_rejects_bad_arguments(crm, arguments, hints):
    crm.fails("create_new_client", arguments, "validation_error", *hints)
    assert crm.count("Client") == 0


def test_create_client_rejects_duplicate_email_case_insensitively(crm):
    first = crm.client(email="sales@acme.com")
    error = crm.fails("create_new_client", {"name": "Other", "email": "SALES@ACME.COM"}, "conflict", "different address")
    assert first["client_id"] in error  # names the client that already has the address


def test_create_client_allows_several_clients_without_email(crm):
    crm.client(name="A")
    crm.client(name="B")
    assert crm.count("Client") == 2


# --- modify_client -----------------------------------------------------------------------------


def test_modify_client_changes_only_given_fields(crm):
    client = crm.client(name="Acme", industry="Retail")
    after = crm.ok("modify_client", client_id=client["client_id"], status="Active", phone="555")
    assert after == {**client, "status": "Active", "phone": "555"}
    assert crm.get("Client", client["client_id"]) == after


def test_modify_client_accepts_its_own_email_in_another_case(crm):
    client = crm.client(email="a@acme.com")
    assert crm.ok("modify_client", client_id=client["client_id"], email="A@ACME.com")["email"] == "A@ACME.com"


def test_modify_client_guards(crm):
    a = crm.client(name="A", email="a@acme.com")
    b = crm.client(name="B", email="b@acme.com")
    crm.fails("modify_client", {"client_id": b["client_id"]}, "validation_error", "nothing to update", "email")
    crm.fails("modify_client", {"client_id": MISSING_ID, "name": "X"}, "not_found", "client_search")
    crm.fails("modify_client", {"client_id": "42", "name": "X"}, "validation_error", "not a valid record id")
    crm.fails("modify_client", {"client_id": b["client_id"], "email": "A@Acme.COM"}, "conflict", a["client_id"])
    crm.fails("modify_client", {"client_id": b["client_id"], "status": "Closed"}, "validation_error", "Inactive")
    crm.fails("modify_client", {"client_id": b["client_id"], "name": ""}, "validation_error", "blank")


def test_modify_client_is_atomic_when_one_field_is_refused(crm):
    crm.client(name="A", email="a@acme.com")
    b = crm.client(name="B", email="b@acme.com")
    # The name is fine, the e-mail clashes: nothing at all may change (crm.fails checks the snapshot).
    crm.fails("modify_client", {"client_id": b["client_id"], "name": "Renamed", "email": "a@acme.com"}, "conflict")
    crm.fails("modify_client", {"client_id": b["client_id"], "name": "Renamed", "status": "bogus"}, "validation_error")
    assert crm.get("Client", b["client_id"])["name"] == "B"


# --- client_search / get_client ----------------------------------------------------------------


def test_client_search_filters_and_orders(crm):
    crm.client(name="beta Labs", industry="Biotech", status="Active")
    crm.client(name="Alpha Retail", industry="Retail", status="Prospect")
    crm.client(name="Gamma Bio", industry="biotech", status="Active")
    everything = crm.ok("client_search")
    assert everything["total"] == 3
    names = [c["name"] for c in everything["results"]]
    assert names == sorted(names)  # the documented order: by name
    bio = crm.ok("client_search", industry="BIOTECH")  # substring, case-insensitive
    assert {c["name"] for c in bio["results"]} == {"beta Labs", "Gamma Bio"}
    active_bio = crm.ok("client_search", industry="bio", status="Active", name="gam")
    assert [c["name"] for c in active_bio["results"]] == ["Gamma Bio"]
    assert crm.ok("client_search", name="zzz") == {"total": 0, "count": 0, "offset": 0, "limit": 20, "results": []}


def test_client_search_pages_in_a_stable_order(crm):
    for i in range(5):
        crm.client(name=f"Client {i}")
    full = [c["client_id"] for c in crm.ok("client_search")["results"]]
    first = crm.ok("client_search", limit=2)
    second = crm.ok("client_search", limit=2, offset=2)
    last = crm.ok("client_search", limit=2, offset=4)
    assert (first["total"], first["count"], last["count"]) == (5, 2, 1)
    assert [c["client_id"] for c in first["results"] + second["results"] + last["results"]] == full


def test_client_search_guards(crm):
    crm.fails("client_search", {"country": "FR"}, "validation_error", "unknown argument 'country'", "industry")
    crm.fails("client_search", {"limit": 0}, "validation_error", "limit")
    crm.fails("client_search", {"limit": 101}, "validation_error", "100")
    crm.fails("client_search", {"offset": -1}, "validation_error", "offset")
    crm.fails("client_search", {"status": "ACTIVE"}, "validation_error", "Active")


def test_get_client(crm):
    client = crm.client()
    assert crm.ok("get_client", client_id=client["client_id"]) == client
    crm.fails("get_client", {"client_id": MISSING_ID}, "not_found", "client_search")
    crm.fails("get_client", {}, "validation_error", "client_id")


def test_client_results_are_copies(crm, sandbox):
    client = crm.client(name="Acme")
    before = copy.deepcopy(sandbox.snapshot())
    for data in (client, crm.ok("get_client", client_id=client["client_id"]), crm.ok("client_search")["results"][0]):
        data["name"] = "Mutated"
    assert sandbox.snapshot() == before
    sandbox.snapshot()["Client"][0]["name"] = "Mutated"
    assert sandbox.snapshot() == before


def test_uppercase_client_id_finds_the_same_record(crm):
    # Ids are UUIDs; their hex case carries no meaning, so lookups must not depend on it.
    client = crm.client()
    assert crm.ok("get_client", client_id=client["client_id"].upper())["client_id"] == client["client_id"]


# --- contacts ----------------------------------------------------------------------------------


def test_create_contact_links_to_client(crm):
    client = crm.client()
    contact = crm.contact(client["client_id"], title="CTO", email="ada@acme.com")
    assert contact["client_id"] == client["client_id"]
    assert crm.get("Contact", contact["contact_id"]) == contact


def test_create_contact_guards(crm):
    client = crm.client()
    cid = client["client_id"]
    crm.fails("create_new_contact", {"first_name": "A", "client_id": cid}, "validation_error", "last_name")
    crm.fails("create_new_contact", {"first_name": "A", "last_name": "B", "client_id": MISSING_ID}, "not_found", "client_search")
    crm.fails(
        "create_new_contact", {"first_name": "A", "last_name": "B", "client_id": cid, "email": "x@"}, "validation_error", "e-mail"
    )
    crm.fails(
        "create_new_contact", {"first_name": "A", "last_name": "B", "client_id": cid, "company": "X"}, "validation_error", "unknown argument"
    )


def test_contacts_may_share_an_email(crm):
    # Uniqueness is a client rule; two people can use one shared mailbox.
    client = crm.client()
    crm.contact(client["client_id"], email="team@acme.com")
    crm.contact(client["client_id"], first_name="Bob", email="TEAM@acme.com")
    assert crm.count("Contact") == 2


def test_modify_contact(crm):
    one, two = crm.client(name="One"), crm.client(name="Two")
    contact = crm.contact(one["client_id"])
    after = crm.ok("modify_contact", contact_id=contact["contact_id"], client_id=two["client_id"], title="CEO")
    assert (after["client_id"], after["title"], after["first_name"]) == (two["client_id"], "CEO", "Ada")
    crm.fails("modify_contact", {"contact_id": contact["contact_id"]}, "validation_error", "nothing to update")
    crm.fails("modify_contact", {"contact_id": MISSING_ID, "title": "X"}, "not_found", "contact_search")
    # Atomic: a valid title with an unknown client changes nothing.
    crm.fails("modify_contact", {"contact_id": contact["contact_id"], "title": "X", "client_id": MISSING_ID}, "not_found")
    assert crm.get("Contact", contact["contact_id"])["title"] == "CEO"


def test_contact_search_and_get(crm):
    one, two = crm.client(name="One"), crm.client(name="Two")
    a = crm.contact(one["client_id"], first_name="Zed", last_name="Adams")
    b = crm.contact(two["client_id"], first_name="Amy", last_name="Adams")
    c = crm.contact(one["client_id"], first_name="Bea", last_name="Brown")
    # Documented order: last name, then first name.
    assert [r["contact_id"] for r in crm.ok("contact_search")["results"]] == [b["contact_id"], a["contact_id"], c["contact_id"]]
    by_client = crm.ok("contact_search", client_id=one["client_id"])
    assert {r["contact_id"] for r in by_client["results"]} == {a["contact_id"], c["contact_id"]}
    assert crm.ok("contact_search", last_name="ADA")["total"] == 2
    assert crm.ok("get_contact", contact_id=c["contact_id"]) == c
    crm.fails("get_contact", {"contact_id": MISSING_ID}, "not_found")
    crm.fails("contact_search", {"client": "One"}, "validation_error", "client_id")


def test_search_offset_is_bounded_so_every_backend_can_take_it(crm):
    # 1e300 is a whole number to JSON; unbounded it overflowed SQLite's 64-bit integers.
    crm.fails("client_search", {"offset": 1e300}, "validation_error", "offset must be <= 1000000")
    assert crm.ok("client_search", offset=1_000_000)["results"] == []
