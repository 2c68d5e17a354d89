"""Shared fixtures: every contract suite runs once per backend.

PostgreSQL runs when ``CRM_ENV_TEST_DATABASE_URL`` names a server (the README's test command starts
one). Without it those tests skip, unless ``CRM_ENV_REQUIRE_DB=1`` (set by CI), where they fail; the same
for optional integrations (``require_extra``, ``CRM_ENV_REQUIRE_EXTRAS=1``).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from typing import Any

import pytest

from crm_env import CrmSandbox
from crm_env.schema import ENTITIES, Entity

TEST_AS_OF = "2026-01-15T09:00:00Z"
POSTGRES_URL_ENV = "CRM_ENV_TEST_DATABASE_URL"


def postgres_url() -> str:
    """The test server's URL, or skip (fail when CI requires the database)."""
    url = os.environ.get(POSTGRES_URL_ENV)
    if url:
        return url
    if os.environ.get("CRM_ENV_REQUIRE_DB") == "1":
        pytest.fail(f"CRM_ENV_REQUIRE_DB=1 but {POSTGRES_URL_ENV} is not set; run the README's test command")
    pytest.skip(f"{POSTGRES_URL_ENV} not set (the README's test command starts PostgreSQL)")


def require_extra(module: str, extra: str) -> Any:
    """Import an optional integration's package, or skip (fail when CI requires the extras:
    ``CRM_ENV_REQUIRE_EXTRAS=1``; the README's test command installs them)."""
    if os.environ.get("CRM_ENV_REQUIRE_EXTRAS") == "1":
        import importlib

        try:
            return importlib.import_module(module)
        except ImportError as exc:
            pytest.fail(f"CRM_ENV_REQUIRE_EXTRAS=1 but {module} does not import ({exc}); pip install -e '.[{extra}]'")
    return pytest.importorskip(module, reason=f"the [{extra}] extra is not installed")


def _backend_params() -> list:
    params = [pytest.param("memory", id="memory")]
    try:
        import crm_env.backends.sql  # noqa: F401
    except ImportError:
        return params
    params.append(pytest.param("sqlite://", id="sqlite"))
    params.append(pytest.param("postgres", id="postgres", marks=pytest.mark.postgres))
    return params


BACKENDS = _backend_params()


@pytest.fixture
def pg_url() -> str:
    """The PostgreSQL test server's URL (skips or fails as ``postgres_url`` says)."""
    return postgres_url()


SQL_BACKENDS = [param for param in BACKENDS if param.values[0] != "memory"]


@pytest.fixture(params=BACKENDS)
def backend_url(request: pytest.FixtureRequest) -> str:
    return postgres_url() if request.param == "postgres" else request.param


@pytest.fixture(params=SQL_BACKENDS)
def sql_backend_url(request: pytest.FixtureRequest) -> str:
    """Like ``backend_url``, for tests that only make sense on SQL backends."""
    return postgres_url() if request.param == "postgres" else request.param


@pytest.fixture
def sandbox(backend_url: str) -> Iterator[CrmSandbox]:
    box = CrmSandbox(backend_url, as_of=TEST_AS_OF)
    yield box
    box.close()


class Crm:
    """Drives the CRM through ``CrmSandbox.call`` for the tool tests.

    ``ok`` asserts success and returns the data; ``fails`` asserts the error kind, that the message
    holds the hints telling the caller how to fix the call, and that the refused call left the CRM
    exactly as it was (so atomicity is checked on every failing call, not only in dedicated tests).
    """

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
        id_field = ENTITIES[Entity(entity)].id_field
        return next(r for r in self.sandbox.snapshot()[entity] if r[id_field] == record_id)

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


@pytest.fixture
def crm(sandbox: CrmSandbox) -> Crm:
    return Crm(sandbox)
