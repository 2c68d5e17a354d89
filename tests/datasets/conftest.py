"""Packaged datasets, loaded once per test session."""

from __future__ import annotations

import pytest

from crm_env.datasets import load
from crm_env.datasets.format import Conversation


@pytest.fixture(scope="session")
def arc_all() -> list[Conversation]:
    return load("arc-crm-1200", allow_held_out=True)


@pytest.fixture(scope="session")
def golden_suite() -> list[Conversation]:
    return load("golden")
