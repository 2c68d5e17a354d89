"""Tool calls per second and episode reset time on every backend.

PostgreSQL is measured when ``$CRM_ENV_TEST_DATABASE_URL`` (or ``$CRM_ENV_DATABASE_URL``) names a server
(``crm-env db up`` prints one); otherwise only memory and SQLite are (the benchmarks start nothing). Targets (issue 3, loopback PostgreSQL): reset <= 1 ms
median and >= 1,000 tool calls/s from one connection.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable

from benchmarks.timing import Figure, median_seconds, per_second
from crm_env import CrmSandbox

AS_OF = "2026-01-15T09:00:00Z"
CLIENT = "11111111-1111-4111-8111-111111111111"
OPPORTUNITY = "33333333-3333-4333-8333-333333333333"
SEED = {
    "Client": [{"client_id": CLIENT, "name": "Acme", "email": "sales@acme.com", "status": "Active"}],
    "Opportunity": [{"opportunity_id": OPPORTUNITY, "name": "Renewal", "client_id": CLIENT, "stage": "Proposal",
                     "amount": 5000.0, "probability": 40}],
}
RESET_TARGET_S = 0.001
CALLS_TARGET = 1000.0


def _postgres_url() -> str | None:
    url = os.environ.get("CRM_ENV_TEST_DATABASE_URL") or os.environ.get("CRM_ENV_DATABASE_URL")
    return url if url and url.startswith("postgres") else None


def _workload(box: CrmSandbox) -> Callable[[], int]:
    """A mixed turn: reads, writes and one refused call, as an agent makes them."""

    def batch() -> int:
        box.reset(records=SEED)
        created = box.call("create_new_client", {"name": "Globex", "email": "ops@globex.com"})
        client_id = created.data["client_id"]
        box.call("client_search", {"name": "glob"})
        box.call("create_new_opportunity", {"name": "Pilot", "client_id": client_id, "amount": 1200.0})
        box.call("modify_opportunity", {"opportunity_id": OPPORTUNITY, "stage": "Negotiation", "probability": 60})
        box.call("opportunity_search", {"client_id": CLIENT})
        box.call("create_quote", {"opportunity_id": OPPORTUNITY, "amount": 4800.0})
        box.call("create_new_client", {"name": "Dup", "email": "SALES@acme.com"})  # refused: conflict
        box.call("view_opportunity_details", {"opportunity_id": OPPORTUNITY})
        box.call("summarize_opportunities", {})
        box.call("add_note", {"entity_type": "Client", "entity_id": client_id, "content": "kick-off booked"})
        return 10

    return batch


def _dirty_reset_seconds(box: CrmSandbox, repeat: int = 1000) -> tuple[float, float]:
    """Median time to end an episode that wrote something and start an empty one (the env's reset),
    alone and together with the next episode's first read (which opens its transaction)."""
    resets, with_read = [], []
    for i in range(repeat):
        box.call("create_new_client", {"name": f"dirty {i}"})
        start = time.perf_counter()
        box.reset()
        middle = time.perf_counter()
        box.call("client_search", {"limit": 1})
        end = time.perf_counter()
        resets.append(middle - start)
        with_read.append(end - start)
    return statistics.median(resets), statistics.median(with_read)


def _measure(name: str, url: str, targets: bool) -> list[Figure]:
    with CrmSandbox(url, as_of=AS_OF) as box:
        box.reset(records=SEED)
        calls = per_second(_workload(box), seconds=2.0)
        dirty, dirty_read = _dirty_reset_seconds(box)
        seeded = median_seconds(lambda: box.reset(records=SEED), repeat=1000)
    calls_target = CALLS_TARGET if targets else None
    reset_target = RESET_TARGET_S * 1000 if targets else None
    return [
        Figure(f"{name}: tool calls/s (mixed, one connection)", calls, "calls/s", calls_target),
        Figure(f"{name}: episode reset after writes (median)", dirty * 1000, "ms", reset_target,
               higher_is_better=False),
        Figure(f"{name}: episode reset + first read (median)", dirty_read * 1000, "ms", None, higher_is_better=False),
        Figure(f"{name}: episode reset, 2-record seed (median)", seeded * 1000, "ms", None, higher_is_better=False),
    ]


def run() -> list[Figure]:
    figures = _measure("memory", "memory", targets=False)
    figures += _measure("sqlite (in memory)", "sqlite://", targets=False)
    with tempfile.TemporaryDirectory() as tmp:
        figures += _measure("sqlite (file)", f"sqlite:///{tmp}/bench.db", targets=False)
    url = _postgres_url()
    if url is not None:
        figures += _measure("postgresql (loopback)", url, targets=True)
    return figures
