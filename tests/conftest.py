"""Shared fixtures: every contract suite runs once per backend.

PostgreSQL runs when ``CRM_ENV_TEST_DATABASE_URL`` names a server (the README's test command starts
one). Without it those tests skip, unless ``CRM_ENV_REQUIRE_DB=1`` (set by CI), where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from crm_env import CrmSandbox

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


@pytest.fixture(params=BACKENDS)
def backend_url(request: pytest.FixtureRequest) -> str:
    return postgres_url() if request.param == "postgres" else request.param


@pytest.fixture
def sandbox(backend_url: str) -> Iterator[CrmSandbox]:
    box = CrmSandbox(backend_url, as_of=TEST_AS_OF)
    yield box
    box.close()
