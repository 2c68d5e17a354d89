"""Documents and notes: attached to another record through (entity_type, entity_id)."""

from __future__ import annotations

import copy

import pytest

# A well-formed id that no record has.
MISSING_ID = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def ids(crm) -> dict[str, str]:
    client = crm.client()["client_id"]
    opp = crm.opportunity(client)["opportunity_id"]
    return {
        "Client": client,
        "Opportunity": opp,
        "Quote": crm.quote(opp)["quote_id"],
        "Contract": crm.contract(client)["contract_id"],
        "Contact": crm.contact(client)["contact_id"],
    }


@pytest.mark.parametrize("entity_type", ["Opportunity", "Contract", "Quote", "Client"])
def test_upload_document_to_each_allowed_record_type(crm, ids, entity_type):
    doc = crm.ok(
        "upload_document",
        entity_type=entity_type,
        entity_id=ids[entity_type],
        file_name="Proposal_v2.final-1.PDF",
        uploaded_by="Kim",
        file_url="https://files.example.com/p.pdf",
    )
    assert (doc["entity_type"], doc["entity_id"]) == (entity_type, ids[entity_type])
    assert doc["uploaded_at"] == "2026-01-15T09:00:00Z"  # from the episode clock
    assert crm.get("Document", doc["document_id"]) == doc


@pytest.mark.parametrize("extension", ["pdf", "doc", "docx", "ppt", "pptx", "xlsx", "csv", "txt", "key"])
def test_every_supported_extension_is_accepted(crm, ids, extension):
    crm.ok("upload_document", entity_type="Client", entity_id=ids["Client"], file_name=f"file.{extension}")


@pytest.mark.parametrize(
    "file_name",
    ["report.exe", "report", "my report.pdf", "../etc/passwd.txt", "résumé.pdf", ".pdf", "a.pdf.zip", "x.Pdf", "a/b.pdf"],
)
def test_upload_document_rejects_bad_file_names(crm, ids, file_name):
    crm.fails(
        "upload_document",
        {"entity_type": "Client", "entity_id": ids["Client"], "file_name": file_name},
        "validation_error",
        "letters, digits",
        ".pdf",
        "e.g.",
    )


def test_upload_document_guards(crm, ids):
    base = {"entity_type": "Opportunity", "entity_id": ids["Opportunity"], "file_name": "a.pdf"}
    # Contacts cannot hold documents in the customer's schema; the error lists where they can go.
    crm.fails("upload_document", {**base, "entity_type": "Contact", "entity_id": ids["Contact"]}, "validation_error", "Quote", "Client")
    crm.fails("upload_document", {**base, "entity_type": "opportunity"}, "validation_error", "Opportunity", "case-sensitive")
    crm.fails("upload_document", {**base, "entity_id": MISSING_ID}, "not_found", "opportunity_search")
    # An id of a record of another type is not found under the named type.
    crm.fails("upload_document", {**base, "entity_id": ids["Quote"]}, "not_found")
    crm.fails("upload_document", {**base, "file_url": "not a url"}, "validation_error", "URL")
    crm.fails("upload_document", {k: v for k, v in base.items() if k != "file_name"}, "validation_error", "file_name")
    crm.fails("upload_document", {**base, "size": 10}, "validation_error", "unknown argument 'size'")


@pytest.mark.parametrize("entity_type", ["Opportunity", "Client", "Contact", "Quote", "Contract"])
def test_add_note_to_each_allowed_record_type(crm, ids, entity_type):
    note = crm.ok("add_note", entity_type=entity_type, entity_id=ids[entity_type], content="Follow up", created_by="Kim")
    assert note["created_at"] == "2026-01-15T09:00:00Z"
    assert crm.get("Note", note["note_id"]) == note


def test_add_note_guards(crm, ids):
    base = {"entity_type": "Client", "entity_id": ids["Client"], "content": "hello"}
    crm.fails("add_note", {**base, "content": "  \n"}, "validation_error", "blank")
    crm.fails("add_note", {**base, "content": "x" * 20_001}, "validation_error", "20000")
    crm.fails("add_note", {**base, "entity_type": "Company"}, "validation_error", "Contact")
    crm.fails("add_note", {**base, "entity_id": MISSING_ID}, "not_found", "client_search")
    crm.fails("add_note", {"entity_type": "Client", "entity_id": ids["Client"]}, "validation_error", "content")
    crm.fails("add_note", {**base, "title": "x"}, "validation_error", "unknown argument 'title'")


def test_document_and_note_search_and_get(crm, ids):
    d1 = crm.ok("upload_document", entity_type="Client", entity_id=ids["Client"], file_name="Plan.pdf", uploaded_by="Kim")
    d2 = crm.ok("upload_document", entity_type="Quote", entity_id=ids["Quote"], file_name="quote.xlsx")
    n1 = crm.ok("add_note", entity_type="Quote", entity_id=ids["Quote"], content="Price agreed", created_by="Lee")
    n2 = crm.ok("add_note", entity_type="Client", entity_id=ids["Client"], content="Renewal soon")

    def docs(**f):
        return {r["document_id"] for r in crm.ok("document_search", **f)["results"]}

    def notes(**f):
        return {r["note_id"] for r in crm.ok("note_search", **f)["results"]}

    assert docs() == {d1["document_id"], d2["document_id"]}
    assert docs(entity_type="Quote", entity_id=ids["Quote"]) == {d2["document_id"]}
    assert docs(file_name="PLAN") == {d1["document_id"]}
    assert docs(uploaded_by="kim") == {d1["document_id"]}
    assert notes(content="price") == {n1["note_id"]}
    assert notes(entity_type="Client") == {n2["note_id"]}
    assert notes(created_by="LE") == {n1["note_id"]}
    assert crm.ok("get_document", document_id=d1["document_id"]) == d1
    assert crm.ok("get_note", note_id=n2["note_id"]) == n2
    crm.fails("get_document", {"document_id": MISSING_ID}, "not_found", "document_search")
    crm.fails("get_note", {"note_id": MISSING_ID}, "not_found", "note_search")
    crm.fails("note_search", {"author": "x"}, "validation_error", "created_by")


def test_attachment_results_are_copies(crm, sandbox, ids):
    doc = crm.ok("upload_document", entity_type="Client", entity_id=ids["Client"], file_name="a.pdf")
    note = crm.ok("add_note", entity_type="Client", entity_id=ids["Client"], content="c")
    before = copy.deepcopy(sandbox.snapshot())
    doc["file_name"] = "b.pdf"
    note["content"] = "changed"
    crm.ok("document_search")["results"][0]["file_name"] = "c.pdf"
    crm.ok("get_note", note_id=note["note_id"])["content"] = "changed"
    assert sandbox.snapshot() == before
