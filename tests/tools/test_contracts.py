"""Contract and company tools."""

from __future__ import annotations

import copy

import pytest

# A well-formed id that no record has.
MISSING_ID = "00000000-0000-4000-8000-000000000000"
COMPANY_ID = "33333333-3333-4333-8333-333333333333"


@pytest.fixture
def ids(crm) -> dict[str, str]:
    client = crm.client(name="Mine")["client_id"]
    other = crm.client(name="Theirs")["client_id"]
    return {
        "client": client,
        "other": other,
        "opp": crm.opportunity(client)["opportunity_id"],
        "other_opp": crm.opportunity(other)["opportunity_id"],
    }


def test_create_contract_happy_path(crm, ids):
    contract = crm.contract(
        ids["client"],
        opportunity_id=ids["opp"],
        start_date="2026-01-01",
        end_date="2026-01-01",  # a one-day contract: end == start is allowed
        value=0,  # contract values may be zero
        document_url="https://docs.example.com/c.pdf",
    )
    assert contract["status"] == "Pending"  # documented default
    assert contract["value"] == 0.0
    assert crm.get("Contract", contract["contract_id"]) == contract


@pytest.mark.parametrize(
    ("extra", "kind", "hints"),
    [
        ({"client_id": MISSING_ID}, "not_found", ["client_search"]),
        ({"opportunity_id": MISSING_ID}, "not_found", ["opportunity_search"]),
        ({"start_date": "2026-05-01", "end_date": "2026-04-30"}, "validation_error", ["on or after the start"]),
        ({"value": -1}, "validation_error", ["between 0 and 10,000,000"]),
        ({"value": 10_000_001}, "validation_error", ["10,000,000"]),
        ({"status": "Signed"}, "validation_error", ["Active", "Pending", "Expired"]),
        ({"document_url": "ftp://x"}, "validation_error", ["http(s)"]),
        ({"start_date": "2026-13-01"}, "validation_error", ["YYYY-MM-DD"]),
        ({"signed_by": "Kim"}, "validation_error", ["unknown argument 'signed_by'", "document_url"]),
    ],
)
def test_create_contract_guards(crm, ids, extra, kind, hints):
    crm.fails("create_contract", {"client_id": ids["client"], **extra}, kind, *hints)


def test_create_contract_allows_past_dates(crm, ids):
    # Contracts record executed agreements, so historic dates are legitimate (unlike close dates).
    assert crm.contract(ids["client"], start_date="2020-01-01", end_date="2021-01-01")["start_date"] == "2020-01-01"


def test_contract_opportunity_must_belong_to_the_client(crm, ids):
    crm.fails(
        "create_contract", {"client_id": ids["client"], "opportunity_id": ids["other_opp"]}, "validation_error", ids["other"]
    )


def test_modify_contract(crm, ids):
    contract = crm.contract(ids["client"], start_date="2026-01-01", end_date="2026-12-31")
    cid = contract["contract_id"]
    after = crm.ok("modify_contract", contract_id=cid, status="Active", value=5000, opportunity_id=ids["opp"])
    assert after == {**contract, "status": "Active", "value": 5000.0, "opportunity_id": ids["opp"]}
    crm.fails("modify_contract", {"contract_id": cid}, "validation_error", "nothing to update")
    crm.fails("modify_contract", {"contract_id": MISSING_ID, "value": 1}, "not_found", "contract_search")
    # The end date is checked against the stored start date, not only against arguments.
    crm.fails("modify_contract", {"contract_id": cid, "end_date": "2025-12-31"}, "validation_error", "before start_date")
    # Moving to another client while still linked to this client's opportunity is refused.
    crm.fails("modify_contract", {"contract_id": cid, "client_id": ids["other"]}, "validation_error", "belongs to client")
    crm.fails("modify_contract", {"contract_id": cid, "opportunity_id": ids["other_opp"]}, "validation_error")
    # Atomic: a good status with a bad value writes nothing.
    crm.fails("modify_contract", {"contract_id": cid, "status": "Expired", "value": -5}, "validation_error")
    assert crm.get("Contract", cid) == after
    moved = crm.ok("modify_contract", contract_id=cid, client_id=ids["other"], opportunity_id=ids["other_opp"])
    assert (moved["client_id"], moved["opportunity_id"]) == (ids["other"], ids["other_opp"])


def test_contract_search_and_get(crm, ids):
    a = crm.contract(ids["client"], value=100, start_date="2026-01-01", end_date="2026-06-30", status="Active")
    b = crm.contract(ids["client"], opportunity_id=ids["opp"], value=900, start_date="2026-07-01")
    c = crm.contract(ids["other"], value=500)

    def found(**filters):
        return [r["contract_id"] for r in crm.ok("contract_search", **filters)["results"]]

    assert found() == sorted([a["contract_id"], b["contract_id"], c["contract_id"]])  # documented: by id
    assert set(found(client_id=ids["client"])) == {a["contract_id"], b["contract_id"]}
    assert found(opportunity_id=ids["opp"]) == [b["contract_id"]]
    assert found(status="Active") == [a["contract_id"]]
    assert set(found(value_min=500)) == {b["contract_id"], c["contract_id"]}
    assert found(value_max=100) == [a["contract_id"]]
    assert found(start_date_from="2026-02-01") == [b["contract_id"]]
    assert found(end_date_to="2026-12-31") == [a["contract_id"]]
    assert crm.ok("get_contract", contract_id=a["contract_id"]) == a
    crm.fails("get_contract", {"contract_id": MISSING_ID}, "not_found", "contract_search")
    crm.fails("contract_search", {"status": "active"}, "validation_error", "Active")


def _companies(sandbox):
    sandbox.seed(
        {
            "Company": [
                {"company_id": COMPANY_ID, "name": "Globex", "type": "Partner", "industry": "Energy", "contacts": ["Hank"]},
                {"company_id": "44444444-4444-4444-8444-444444444444", "name": "Initech", "type": "Competitor"},
            ]
        }
    )


def test_company_search_and_get(crm, sandbox):
    _companies(sandbox)
    assert [r["name"] for r in crm.ok("company_search")["results"]] == ["Globex", "Initech"]
    assert [r["name"] for r in crm.ok("company_search", type="Competitor")["results"]] == ["Initech"]
    assert [r["name"] for r in crm.ok("company_search", industry="ENERGY")["results"]] == ["Globex"]
    company = crm.ok("get_company", company_id=COMPANY_ID)
    assert company["contacts"] == ["Hank"]
    crm.fails("get_company", {"company_id": MISSING_ID}, "not_found", "company_search")
    crm.fails("company_search", {"type": "partner"}, "validation_error", "Partner", "Vendor")


def test_company_results_are_deep_copies(crm, sandbox):
    # Company.contacts is a list: a shallow copy would hand out the store's own list.
    _companies(sandbox)
    before = copy.deepcopy(sandbox.snapshot())
    crm.ok("get_company", company_id=COMPANY_ID)["contacts"].append("Intruder")
    crm.ok("company_search")["results"][0]["contacts"].append("Intruder")
    sandbox.snapshot()["Company"][0]["contacts"].append("Intruder")
    assert sandbox.snapshot() == before


def test_contract_results_are_copies(crm, sandbox, ids):
    cid = crm.contract(ids["client"], value=5)["contract_id"]
    before = copy.deepcopy(sandbox.snapshot())
    crm.ok("get_contract", contract_id=cid)["value"] = 1
    crm.ok("contract_search")["results"][0]["status"] = "Active"
    assert sandbox.snapshot() == before
