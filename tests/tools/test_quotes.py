"""Quote tools: create/modify/cancel/delete guards, comparisons, prefixes, copies."""

from __future__ import annotations

import copy

import pytest

# A well-formed id that no record has.
MISSING_ID = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def opp_id(crm) -> str:
    client = crm.client()
    return crm.opportunity(client["client_id"])["opportunity_id"]


def test_create_quote_happy_path(crm, opp_id):
    quote = crm.quote(opp_id, amount=1200, version="1.0", valid_until="2026-02-01", quote_prefix="Q-2026")
    assert quote["status"] == "Draft"  # documented default
    assert quote["created_date"] == "2026-01-15T09:00:00Z"  # from the episode clock
    assert crm.get("Quote", quote["quote_id"]) == quote


@pytest.mark.parametrize(
    ("extra", "kind", "hints"),
    [
        ({"opportunity_id": MISSING_ID}, "not_found", ["opportunity_search"]),
        ({"amount": 0}, "validation_error", ["greater than 0"]),
        ({"amount": 2e7}, "validation_error", ["10,000,000"]),
        ({"status": "draft"}, "validation_error", ["Draft", "Canceled", "case-sensitive"]),
        ({"valid_until": "2026-01-14"}, "validation_error", ["in the past"]),
        ({"valid_until": "tomorrow"}, "validation_error", ["YYYY-MM-DD"]),
        ({"discount": 5}, "validation_error", ["unknown argument 'discount'", "quote_prefix"]),
    ],
)
def test_create_quote_guards(crm, opp_id, extra, kind, hints):
    crm.fails("create_quote", {"opportunity_id": opp_id, **extra}, kind, *hints)


def test_create_quote_needs_opportunity_id(crm):
    crm.fails("create_quote", {"amount": 5}, "validation_error", "missing required argument 'opportunity_id'")


def test_modify_quote(crm, opp_id):
    quote = crm.quote(opp_id, amount=100)
    qid = quote["quote_id"]
    after = crm.ok("modify_quote", quote_id=qid, amount=150, status="Sent")
    assert after == {**quote, "amount": 150.0, "status": "Sent"}
    crm.fails("modify_quote", {"quote_id": qid}, "validation_error", "nothing to update", "valid_until")
    crm.fails("modify_quote", {"quote_id": MISSING_ID, "amount": 1}, "not_found", "quote_search")
    crm.fails("modify_quote", {"quote_id": qid, "opportunity_id": opp_id}, "validation_error", "unknown argument")
    # Atomic: a good amount with a past date writes nothing.
    crm.fails("modify_quote", {"quote_id": qid, "amount": 999, "valid_until": "2020-01-01"}, "validation_error", "in the past")
    crm.fails("modify_quote", {"quote_id": qid, "amount": 999, "status": "Lost"}, "validation_error", "Approved")
    assert crm.get("Quote", qid) == after


def test_cancel_quote_keeps_the_record_and_is_final(crm, opp_id):
    qid = crm.quote(opp_id, amount=100)["quote_id"]
    canceled = crm.ok("cancel_quote", quote_id=qid)
    assert canceled["status"] == "Canceled"
    assert crm.get("Quote", qid) == canceled
    crm.fails("cancel_quote", {"quote_id": qid}, "rule_violation", "already Canceled")
    crm.fails("modify_quote", {"quote_id": qid, "amount": 5}, "rule_violation", "Canceled")
    crm.fails("cancel_quote", {"quote_id": MISSING_ID}, "not_found")


def test_delete_quote_cascades_to_its_attachments_only(crm, opp_id):
    qid = crm.quote(opp_id)["quote_id"]
    other = crm.quote(opp_id)["quote_id"]
    doc = crm.ok("upload_document", entity_type="Quote", entity_id=qid, file_name="q.pdf")
    note = crm.ok("add_note", entity_type="Quote", entity_id=qid, content="x")
    kept = crm.ok("add_note", entity_type="Quote", entity_id=other, content="y")
    result = crm.ok("delete_quote", quote_id=qid)
    assert result == {"deleted": {"Quote": [qid], "Document": [doc["document_id"]], "Note": [note["note_id"]]}}
    snap = crm.sandbox.snapshot()
    assert [q["quote_id"] for q in snap["Quote"]] == [other]
    assert [n["note_id"] for n in snap["Note"]] == [kept["note_id"]]
    assert len(snap["Opportunity"]) == 1  # the parent is untouched
    crm.fails("delete_quote", {"quote_id": qid}, "not_found")


def test_quote_search(crm, opp_id):
    other_opp = crm.opportunity(crm.client(name="B")["client_id"])["opportunity_id"]
    a = crm.quote(opp_id, amount=100, quote_prefix="Q-EU", valid_until="2026-03-01")
    b = crm.quote(opp_id, amount=500, status="Sent", quote_prefix="Q-US")
    c = crm.quote(other_opp, amount=900, quote_prefix="q-eu")

    def ids(**filters):
        return {r["quote_id"] for r in crm.ok("quote_search", **filters)["results"]}

    assert crm.ok("quote_search")["total"] == 3
    assert ids(opportunity_id=opp_id) == {a["quote_id"], b["quote_id"]}
    assert ids(status="Sent") == {b["quote_id"]}
    assert ids(quote_prefix="Q-eu") == {a["quote_id"], c["quote_id"]}
    assert ids(amount_min=500) == {b["quote_id"], c["quote_id"]}
    assert ids(valid_until_to="2026-12-31") == {a["quote_id"]}
    crm.fails("quote_search", {"prefix": "Q"}, "validation_error", "quote_prefix")


def test_quote_details(crm, opp_id):
    quote = crm.quote(opp_id)
    assert crm.ok("quote_details", quote_id=quote["quote_id"]) == quote
    crm.fails("quote_details", {"quote_id": MISSING_ID}, "not_found", "quote_search")


def test_compare_quotes(crm, opp_id):
    cheap = crm.quote(opp_id, amount=100.25)
    dear = crm.quote(opp_id, amount=400)
    unpriced = crm.quote(opp_id)
    ids = [dear["quote_id"], unpriced["quote_id"], cheap["quote_id"]]
    result = crm.ok("compare_quotes", quote_ids=ids)
    assert [q["quote_id"] for q in result["quotes"]] == ids  # in the order asked
    assert result["lowest_quote_id"] == cheap["quote_id"]
    assert result["highest_quote_id"] == dear["quote_id"]
    assert result["amount_difference"] == pytest.approx(299.75)


def test_compare_quotes_guards(crm, opp_id):
    qid = crm.quote(opp_id)["quote_id"]
    for tool in ("compare_quotes", "compare_quote_details"):
        crm.fails(tool, {"quote_ids": [qid]}, "validation_error", "at least 2")
        crm.fails(tool, {"quote_ids": [qid, qid]}, "validation_error", "distinct")
        crm.fails(tool, {"quote_ids": [qid, MISSING_ID]}, "not_found", "quote_search")
        crm.fails(tool, {"quote_ids": qid}, "validation_error", "list")
        crm.fails(tool, {"quote_ids": [qid] * 11}, "validation_error", "at most 10")


def test_compare_quote_details_lists_differing_fields(crm, opp_id):
    a = crm.quote(opp_id, amount=100, version="1")
    b = crm.quote(opp_id, amount=200, version="1", status="Sent")
    result = crm.ok("compare_quote_details", quote_ids=[a["quote_id"], b["quote_id"]])
    assert result["quotes"] == [a, b]
    assert result["differences"] == {"amount": [100.0, 200.0], "status": ["Draft", "Sent"]}


def test_quote_prefixes(crm, opp_id):
    other_opp = crm.opportunity(crm.client(name="B")["client_id"])["opportunity_id"]
    crm.quote(opp_id, quote_prefix="Q-B")
    crm.quote(opp_id, quote_prefix="Q-A")
    crm.quote(other_opp, quote_prefix="Q-B")
    crm.quote(opp_id)  # no prefix: not listed
    assert crm.ok("quote_prefixes") == {"prefixes": [{"quote_prefix": "Q-A", "count": 1}, {"quote_prefix": "Q-B", "count": 2}]}
    assert crm.ok("quote_prefixes", opportunity_id=other_opp) == {"prefixes": [{"quote_prefix": "Q-B", "count": 1}]}
    crm.fails("quote_prefixes", {"opportunity_id": "Q-A"}, "validation_error", "not a valid record id")


def test_quote_results_are_copies(crm, sandbox, opp_id):
    a = crm.quote(opp_id, amount=1)
    b = crm.quote(opp_id, amount=2)
    before = copy.deepcopy(sandbox.snapshot())
    details = crm.ok("compare_quote_details", quote_ids=[a["quote_id"], b["quote_id"]])
    details["quotes"][0]["amount"] = 99
    crm.ok("quote_search")["results"][0]["status"] = "Approved"
    crm.ok("quote_details", quote_id=a["quote_id"])["amount"] = 42
    assert sandbox.snapshot() == before
