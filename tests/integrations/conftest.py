"""The integration tests' shared local Ray cluster."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_extra

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cluster() -> Any:
    """One local cluster per test module (runs join it instead of starting their own); its workers import
    this test package as pytest does, so the agents defined here reach them."""
    if importlib.util.find_spec("ray") is None:  # not imported here: `connect` must be the first to import it
        require_extra("ray", "ray")
    from crm_env.integrations.ray.cluster import connect

    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), str(ROOT / "tests"), saved]))
    try:
        joined = connect(None, 2)
    finally:
        os.environ.pop("PYTHONPATH") if saved is None else os.environ.update(PYTHONPATH=saved)
    assert joined.started and joined.cpus >= 2
    assert joined.ray.util.get_node_ip_address() == "127.0.0.1"  # the cluster's servers are on loopback only
    yield joined
    joined.ray.shutdown()
