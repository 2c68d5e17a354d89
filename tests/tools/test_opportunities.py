"""Opportunity tools: create/modify guards, closed-deal freeze, delete cascade/refusal, clone, reads."""

from __future__ import annotations

import copy

import pytest

# A well-formed id that no record has.
MISSING_ID = "00000000-0000-4000-8000-000000000000"
TODAY = "2026-01-15"  # the conftest clock's date


@pytest.fixture
def client_id(crm) -> str:
    return crm.client()["client_id"]


def test_create_opportunity_happy_path(crm, client_id):
    opp = crm.opportunity(client_id, amount=1500, probability=40.0, close_date=TODAY, owner="Kim")
    assert opp["stage"] == "Prospecting"  # documented default
    assert opp["amount"] == 1500.0 and isinstance(opp["amount"], float)
    # JSON has one number type: 40.0 means the whole number 40.
    assert opp["probability"] == 40 and isinstance(opp["probability"], int)
    assert crm.get("Opportunity", opp["opportunity_id"]) == opp


@pytest.mark.parametrize(
    ("extra", "hints"),
    [
        ({"stage": "closed-won"}, ["Closed-Won", "Prospecting", "case-sensitive"]),
        ({"amount": 0}, ["greater than 0", "10,000,000"]),
        ({"amount": -5}, ["greater than 0"]),
        ({"amount": 10_000_000.01}, ["at most 10,000,000"]),
        ({"amount": "1000"}, ["amount must be a number"]),
        ({"amount": True}, ["amount must be a number"]),
        ({"amount": float("nan")}, ["out of range"]),
        ({"probability": 101}, ["0 to 100"]),
        ({"probability": -1}, ["0 to 100"]),
        ({"probability": 50.5}, ["whole number"]),
        ({"close_date": "2026-01-14"}, ["in the past", TODAY]),
        ({"close_date": "15/03/2026"}, ["YYYY-MM-DD"]),
        ({"close_date": "2026-02-30"}, ["YYYY-MM-DD"]),
        ({"priority": "high"}, ["unknown argument 'priority'", "Allowed arguments"]),
    ],
)
def test_create_opportunity_guards(crm, client_id, extra, hints):
    crm.fails("create_new_opportunity", {"name": "Deal", "client_id": client_id, **extra}, "validation_error", *hints)


def test_create_opportunity_accepts_the_bounds(crm, client_id):
    crm.opportunity(client_id, amount=10_000_000, probability=0)
    crm.opportunity(client_id, amount=0.01, probability=100)
    assert crm.count("Opportunity") == 2


def test_create_opportunity_needs_an_existing_client(crm, client_id):
    crm.fails("create_new_opportunity", {"name": "Deal", "client_id": MISSING_ID}, "not_found", "client_search")
    crm.fails("create_new_opportunity", {"client_id": client_id}, "validation_error", "missing required argument 'name'")


def test_close_date_rule_uses_the_episode_clock(sandbox, crm, client_id):
    # A date that is past for the conftest clock becomes valid when the episode clock is earlier:
    # proof that the rule reads the sandbox clock, not the wall clock.
    crm.fails("create_new_opportunity", {"name": "D", "client_id": client_id, "close_date": "2020-06-01"}, "validation_error")
    sandbox.reset(as_of="2020-01-01")
    client = crm.client()
    assert crm.opportunity(client["client_id"], close_date="2020-06-01")["close_date"] == "2020-06-01"


def test_modify_opportunity_happy_path(crm, client_id):
    opp = crm.opportunity(client_id, amount=100)
    after = crm.ok("modify_opportunity", opportunity_id=opp["opportunity_id"], stage="Negotiation", amount=250, notes="hot")
    assert after == {**opp, "stage": "Negotiation", "amount": 250.0, "notes": "hot"}
    assert crm.get("Opportunity", opp["opportunity_id"]) == after


def test_modify_opportunity_guards(crm, client_id):
    oid = crm.opportunity(client_id)["opportunity_id"]
    crm.fails("modify_opportunity", {"opportunity_id": oid}, "validation_error", "nothing to update", "stage")
    crm.fails("modify_opportunity", {"opportunity_id": MISSING_ID, "name": "x"}, "not_found", "opportunity_search")
    crm.fails("modify_opportunity", {"opportunity_id": oid, "client_id": MISSING_ID}, "not_found", "client_search")
    crm.fails("modify_opportunity", {"opportunity_id": oid, "stage": "Won"}, "validation_error", "Closed-Won")
    crm.fails("modify_opportunity", {"opportunity_id": oid, "probability": 150}, "validation_error", "0 to 100")
    crm.fails("modify_opportunity", {"opportunity_id": oid, "close_date": "2025-12-31"}, "validation_error", "in the past")


def test_modify_opportunity_is_atomic(crm, client_id):
    opp = crm.opportunity(client_id, amount=100)
    oid = opp["opportunity_id"]
    # One good field and one bad one: neither is written.
    crm.fails("modify_opportunity", {"opportunity_id": oid, "name": "New", "amount": -1}, "validation_error")
    crm.fails("modify_opportunity", {"opportunity_id": oid, "name": "New", "client_id": MISSING_ID}, "not_found")
    crm.fails("modify_opportunity", {"opportunity_id": oid, "stage": "Proposal", "close_date": "2020-01-01"}, "validation_error")
    assert crm.get("Opportunity", oid) == opp


def test_modify_opportunity_keeps_an_unchanged_past_close_date(sandbox, crm):
    # A seeded deal whose close date has passed can still be edited without touching that date.
    sandbox.seed(
        {
            "Client": [{"client_id": "11111111-1111-4111-8111-111111111111", "name": "Old Co"}],
            "Opportunity": [
                {
                    "opportunity_id": "22222222-2222-4222-8222-222222222222",
                    "name": "Old deal",
                    "client_id": "11111111-1111-4111-8111-111111111111",
                    "close_date": "2025-06-30",
                }
            ],
        }
    )
    after = crm.ok(
        "modify_opportunity", opportunity_id="22222222-2222-4222-8222-222222222222", close_date="2025-06-30", owner="Kim"
    )
    assert after["owner"] == "Kim"


@pytest.mark.parametrize("stage", ["Closed-Won", "Closed-Lost"])
def test_closed_deal_keeps_stage_amount_probability_and_close_date(crm, client_id, stage):
    opp = crm.opportunity(client_id, amount=100, probability=90, close_date=TODAY)
    oid = opp["opportunity_id"]
    closed = crm.ok("modify_opportunity", opportunity_id=oid, stage=stage)
    for field, value in [("stage", "Negotiation"), ("amount", 5), ("probability", 10), ("close_date", "2026-12-31")]:
        crm.fails("modify_opportunity", {"opportunity_id": oid, field: value}, "rule_violation", field, "name, owner and notes")
    # Name, owner and notes stay editable, and re-stating a frozen value unchanged is not a change.
    after = crm.ok("modify_opportunity", opportunity_id=oid, name="Renamed", owner="Lee", notes="n", stage=stage, amount=100)
    assert after == {**closed, "name": "Renamed", "owner": "Lee", "notes": "n"}


def test_delete_opportunity_cascades_to_quotes_and_attachments(crm, client_id):
    opp = crm.opportunity(client_id)
    other = crm.opportunity(client_id, name="Keep me")
    oid = opp["opportunity_id"]
    quote = crm.quote(oid)
    kept_quote = crm.quote(other["opportunity_id"])
    doc = crm.ok("upload_document", entity_type="Opportunity", entity_id=oid, file_name="a.pdf")
    quote_note = crm.ok("add_note", entity_type="Quote", entity_id=quote["quote_id"], content="q")
    client_note = crm.ok("add_note", entity_type="Client", entity_id=client_id, content="c")
    result = crm.ok("delete_opportunity", opportunity_id=oid)
    assert result["deleted"]["Opportunity"] == [oid]
    assert result["deleted"]["Quote"] == [quote["quote_id"]]
    assert result["deleted"]["Document"] == [doc["document_id"]]
    assert result["deleted"]["Note"] == [quote_note["note_id"]]
    snap = crm.sandbox.snapshot()
    assert [o["opportunity_id"] for o in snap["Opportunity"]] == [other["opportunity_id"]]
    assert [q["quote_id"] for q in snap["Quote"]] == [kept_quote["quote_id"]]
    assert snap["Document"] == [] and [n["note_id"] for n in snap["Note"]] == [client_note["note_id"]]
    crm.fails("delete_opportunity", {"opportunity_id": oid}, "not_found")


def test_delete_opportunity_is_refused_while_a_contract_refers_to_it(crm, client_id):
    oid = crm.opportunity(client_id)["opportunity_id"]
    crm.quote(oid)
    contract = crm.contract(client_id, opportunity_id=oid)
    error = crm.fails("delete_opportunity", {"opportunity_id": oid}, "rule_violation", "Closed-Lost")
    assert contract["contract_id"] in error


def test_clone_opportunity_copies_fields_under_a_new_id(crm, client_id):
    opp = crm.opportunity(client_id, amount=100, stage="Proposal", probability=30, notes="x")
    crm.quote(opp["opportunity_id"])
    copy = crm.ok("clone_opportunity", opportunity_id=opp["opportunity_id"])
    assert copy["opportunity_id"] != opp["opportunity_id"]
    assert {k: v for k, v in copy.items() if k != "opportunity_id"} == {k: v for k, v in opp.items() if k != "opportunity_id"}
    renamed = crm.ok("clone_opportunity", opportunity_id=opp["opportunity_id"], name="Copy")
    assert renamed["name"] == "Copy"
    assert crm.count("Quote") == 1  # quotes are not copied
    crm.fails("clone_opportunity", {"opportunity_id": MISSING_ID}, "not_found")
    crm.fails("clone_opportunity", {"opportunity_id": opp["opportunity_id"], "name": " "}, "validation_error", "blank")


def test_opportunity_search_filters_ranges_and_order(crm, client_id):
    other = crm.client(name="Other")["client_id"]
    a = crm.opportunity(client_id, name="Bravo", amount=100, probability=10, close_date="2026-02-01", stage="Proposal")
    b = crm.opportunity(client_id, name="alpha", amount=500, probability=50, close_date="2026-03-01")
    c = crm.opportunity(other, name="Charlie", amount=900, probability=90, close_date="2026-04-01")
    d = crm.opportunity(client_id, name="Delta")  # no amount: never inside an amount range

    def ids(**filters):
        return [r["opportunity_id"] for r in crm.ok("opportunity_search", **filters)["results"]]

    # Sort by name uses code-point order so that every backend agrees ("Bravo" < "Charlie" < "Delta" < "alpha").
    assert ids() == [a["opportunity_id"], c["opportunity_id"], d["opportunity_id"], b["opportunity_id"]]
    assert set(ids(client_id=client_id)) == {a["opportunity_id"], b["opportunity_id"], d["opportunity_id"]}
    assert ids(stage="Proposal") == [a["opportunity_id"]]
    assert set(ids(amount_min=100, amount_max=500)) == {a["opportunity_id"], b["opportunity_id"]}  # inclusive
    assert ids(probability_min=51) == [c["opportunity_id"]]
    assert set(ids(close_date_from="2026-03-01", close_date_to="2026-04-01")) == {b["opportunity_id"], c["opportunity_id"]}
    assert ids(name="ALP") == [b["opportunity_id"]]
    crm.fails("opportunity_search", {"amount_above": 5}, "validation_error", "amount_min")
    crm.fails("opportunity_search", {"stage": "open"}, "validation_error", "Negotiation")


def test_opportunity_details_and_view(crm, client_id):
    opp = crm.opportunity(client_id)
    oid = opp["opportunity_id"]
    quote = crm.quote(oid)
    contract = crm.contract(client_id, opportunity_id=oid)
    note = crm.ok("add_note", entity_type="Opportunity", entity_id=oid, content="call back")
    assert crm.ok("opportunity_details", opportunity_id=oid) == opp
    view = crm.ok("view_opportunity_details", opportunity_id=oid)
    assert view["opportunity"] == opp
    assert view["client"]["client_id"] == client_id
    assert [q["quote_id"] for q in view["quotes"]] == [quote["quote_id"]]
    assert [c["contract_id"] for c in view["contracts"]] == [contract["contract_id"]]
    assert view["documents"] == [] and [n["note_id"] for n in view["notes"]] == [note["note_id"]]
    crm.fails("opportunity_details", {"opportunity_id": MISSING_ID}, "not_found")
    crm.fails("view_opportunity_details", {"opportunity_id": MISSING_ID}, "not_found")


def test_summarize_opportunities(crm, client_id):
    other = crm.client(name="Other")["client_id"]
    crm.opportunity(client_id, amount=100, probability=50, stage="Proposal", owner="Kim")
    crm.opportunity(client_id, amount=300, probability=10, stage="Proposal")
    crm.opportunity(client_id, stage="Negotiation")  # no amount: counted, but not averaged
    crm.opportunity(other, amount=1000, probability=100, stage="Negotiation")
    summary = crm.ok("summarize_opportunities")
    assert summary["count"] == 4
    assert summary["total_amount"] == 1400
    assert summary["average_amount"] == pytest.approx(1400 / 3, abs=0.01)
    assert summary["weighted_amount"] == 100 * 0.5 + 300 * 0.1 + 1000
    assert summary["by_stage"]["Proposal"] == {"count": 2, "total_amount": 400}
    assert summary["by_stage"]["Closed-Won"] == {"count": 0, "total_amount": 0}
    mine = crm.ok("summarize_opportunities", client_id=client_id, owner="ki")
    assert (mine["count"], mine["total_amount"]) == (1, 100)
    empty = crm.ok("summarize_opportunities", stage="Closed-Lost")
    assert (empty["count"], empty["average_amount"]) == (0, None)
    crm.fails("summarize_opportunities", {"stage": "proposal"}, "validation_error", "Proposal")


def test_opportunity_results_are_copies(crm, sandbox, client_id):
    oid = crm.opportunity(client_id)["opportunity_id"]
    before = copy.deepcopy(sandbox.snapshot())
    view = crm.ok("view_opportunity_details", opportunity_id=oid)
    view["opportunity"]["name"] = "x"
    view["client"]["name"] = "x"
    crm.ok("opportunity_search")["results"][0]["stage"] = "Closed-Won"
    crm.ok("opportunity_details", opportunity_id=oid)["amount"] = 5
    assert sandbox.snapshot() == before


def test_opportunity_with_a_contract_cannot_move_to_another_client(crm, client_id):
    # Contracts require their opportunity to belong to the same client; moving the deal would break that.
    other = crm.client(name="Other")["client_id"]
    oid = crm.opportunity(client_id)["opportunity_id"]
    crm.contract(client_id, opportunity_id=oid)
    crm.fails("modify_opportunity", {"opportunity_id": oid, "client_id": other}, "rule_violation", "new opportunity")
    # Re-stating the same client is not a move.
    assert crm.ok("modify_opportunity", opportunity_id=oid, client_id=client_id, owner="Kim")["owner"] == "Kim"
    free = crm.opportunity(client_id, name="Free")["opportunity_id"]
    assert crm.ok("modify_opportunity", opportunity_id=free, client_id=other)["client_id"] == other
