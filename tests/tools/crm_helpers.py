"""Helpers for the tool tests: every test drives the CRM through ``CrmSandbox.call``.

A module with a unique name rather than a conftest.py: other suites import ``conftest`` by name, and a
second conftest on sys.path would shadow the root one. Test modules import the ``crm`` fixture.

``crm.ok`` asserts success and returns the data; ``crm.fails`` asserts the error kind, that the
message contains the hints that tell the caller how to fix the call, and that the refused call left
the CRM exactly as it was (atomicity is checked on every failing call, not just in dedicated tests).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from crm_env import CrmSandbox


class Crm:
    def __init__(self, sandbox: CrmSandbox) -> None:
        self.sandbox = sandbox

    def ok(self, tool: str, **arguments: Any) -> Any:
        result = self.sandbox.call(tool, arguments)
        assert result.ok, f"{tool}{arguments} failed: {result.error_type}: {result.error}"
        return result.data

    def fails(self, tool: str, arguments: dict[str, Any], kind: str, *hints: str) -> str:
        before = copy.deepcopy(self.sandbox.snapshot())
        changes = len(self.sandbox.changes)
        result = self.sandbox.call(tool, arguments)
        assert not result.ok, f"{tool}{arguments} unexpectedly succeeded: {result.data}"
        assert result.error_type == kind, result.error
        for hint in hints:
            assert hint in result.error, f"{hint!r} not in {result.error!r}"
        assert self.sandbox.snapshot() == before, "a refused call changed the CRM"
        assert len(self.sandbox.changes) == changes, "a refused call left entries in the change log"
        return result.error

    def get(self, entity: str, record_id: str) -> dict[str, Any]:
        rows = {r[_ID[entity]]: r for r in self.sandbox.snapshot()[entity]}
        return rows[record_id]

    def count(self, entity: str) -> int:
        return len(self.sandbox.snapshot()[entity])

    # Small builders so each test states only what it is about.
    def client(self, **fields: Any) -> dict[str, Any]:
        return self.ok("create_new_client", **{"name": "Acme Corp", **fields})

    def contact(self, client_id: str, **fields: Any) -> dict[str, Any]:
        return self.ok("create_new_contact", **{"first_name": "Ada", "last_name": "Lovelace", "client_id": client_id, **fields})

    def opportunity(self, client_id: str, **fields: Any) -> dict[str, Any]:
        return self.ok("create_new_opportunity", **{"name": "Big deal", "client_id": client_id, **fields})

    def quote(self, opportunity_id: str, **fields: Any) -> dict[str, Any]:
        return self.ok("create_quote", **{"opportunity_id": opportunity_id, **fields})

    def contract(self, client_id: str, **fields: Any) -> dict[str, Any]:
        return self.ok("create_contract", **{"client_id": client_id, **fields})


_ID = {
    "Client": "client_id",
    "Contact": "contact_id",
    "Opportunity": "opportunity_id",
    "Quote": "quote_id",
    "Contract": "contract_id",
    "Company": "company_id",
    "Document": "document_id",
    "Note": "note_id",
}


@pytest.fixture
def crm(sandbox: CrmSandbox) -> Crm:
    return Crm(sandbox)
