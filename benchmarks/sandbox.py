"""CrmSandbox on the memory backend: tool calls per second and reset + seed time."""

from __future__ import annotations

from benchmarks.timing import Figure, median_seconds, per_second
from crm_env import CrmSandbox, build_seed
from crm_env.schema.clock import Clock

AS_OF = "2026-01-15"
CLIENT = "0b6f3c1e-9a4d-4e6f-8b7a-1c2d3e4f5a01"
OPPORTUNITY = "0b6f3c1e-9a4d-4e6f-8b7a-1c2d3e4f5a02"
QUOTE = "0b6f3c1e-9a4d-4e6f-8b7a-1c2d3e4f5a03"


def ten_records() -> dict:
    """A 10-record seed: 3 clients, 2 contacts, 3 opportunities, 2 quotes."""
    def uid(n: int) -> str:
        return f"0b6f3c1e-9a4d-4e6f-8b7a-1c2d3e4f5{n:03d}"

    return {
        "Client": [
            {"client_id": CLIENT, "name": "Acme Corporation", "email": "ops@acme.example", "status": "Active"},
            {"client_id": uid(10), "name": "Globex", "email": "hi@globex.example", "status": "Prospect"},
            {"client_id": uid(11), "name": "Initech", "industry": "Software", "status": "Active"},
        ],
        "Contact": [
            {"contact_id": uid(20), "first_name": "Ada", "last_name": "Lovelace", "client_id": CLIENT},
            {"contact_id": uid(21), "first_name": "Alan", "last_name": "Turing", "client_id": uid(10)},
        ],
        "Opportunity": [
            {"opportunity_id": OPPORTUNITY, "name": "Q4 Renewal", "client_id": CLIENT, "stage": "Proposal",
             "amount": 120000, "probability": 60},
            {"opportunity_id": uid(30), "name": "Expansion", "client_id": uid(10), "stage": "Prospecting",
             "amount": 50000, "probability": 20},
            {"opportunity_id": uid(31), "name": "Pilot", "client_id": uid(11), "stage": "Closed-Won",
             "amount": 9000, "probability": 100},
        ],
        "Quote": [
            {"quote_id": QUOTE, "opportunity_id": OPPORTUNITY, "amount": 118000, "status": "Draft", "version": "1.0"},
            {"quote_id": uid(40), "opportunity_id": OPPORTUNITY, "amount": 125000, "status": "Sent", "version": "2.0"},
        ],
    }


# A mixed workload: about half writes, spread over the entities, including one refused call.
WORKLOAD: tuple[tuple[str, dict], ...] = (
    ("client_search", {"name": "acme"}),
    ("create_new_opportunity", {"name": "Upsell", "client_id": CLIENT, "amount": 25000, "stage": "Qualification"}),
    ("opportunity_search", {"stage": "Proposal"}),
    ("modify_opportunity", {"opportunity_id": OPPORTUNITY, "probability": 70}),
    ("create_quote", {"opportunity_id": OPPORTUNITY, "amount": 119000}),
    ("view_opportunity_details", {"opportunity_id": OPPORTUNITY}),
    ("add_note", {"entity_type": "Opportunity", "entity_id": OPPORTUNITY, "content": "Call back Monday"}),
    ("quote_details", {"quote_id": QUOTE}),
    ("modify_client", {"client_id": CLIENT, "phone": "+1 555 0100"}),
    ("summarize_opportunities", {}),
    ("create_new_opportunity", {"name": "Bad", "client_id": CLIENT, "stage": "closed won"}),
    ("contact_search", {"last_name": "love"}),
)


def run() -> list[Figure]:
    clock = Clock.at(AS_OF)
    seed = build_seed(ten_records(), clock)
    sandbox = CrmSandbox("memory", as_of=AS_OF)

    def batch() -> int:
        sandbox.reset(records=seed)
        for name, arguments in WORKLOAD:
            sandbox.call(name, arguments)
        return len(WORKLOAD)

    calls = per_second(batch, seconds=2.0)
    reset_seed = median_seconds(lambda: sandbox.reset(records=seed), repeat=20000)
    validate_seed = median_seconds(lambda: build_seed(ten_records(), clock), repeat=2000)
    return [
        Figure("memory: mixed read/write tool calls per second", calls, "calls/s", 50_000),
        Figure("memory: reset + seed (10 prepared records)", reset_seed * 1e6, "µs", 20, higher_is_better=False),
        Figure("memory: validating a 10-record seed (once per conversation)", validate_seed * 1e6, "µs"),
    ]
