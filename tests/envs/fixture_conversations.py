"""Hand-written test conversations for the env tests, as ``Conversation`` objects.

``CONVERSATIONS`` is the raw data (dicts in the dataset format) and ``conversations()`` the validated
``Conversation`` objects; ``write_jsonl(path)`` writes them as a dataset file for the tests that need a path
(``gymnasium.make`` by module path in a subprocess, the JSON spec round trip).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crm_env.datasets.format import Conversation

ACME = "11111111-1111-4111-8111-111111111111"
GLOBEX = "22222222-2222-4222-8222-222222222222"
OPP_ACME = "33333333-3333-4333-8333-333333333333"
OPP_GLOBEX = "44444444-4444-4444-8444-444444444444"
OPP_WON = "55555555-5555-4555-8555-555555555555"
QUOTE_1 = "66666666-6666-4666-8666-666666666666"
QUOTE_2 = "77777777-7777-4777-8777-777777777777"
CONTACT = "88888888-8888-4888-8888-888888888888"

RECORDS = {
    "Client": [
        {"client_id": ACME, "name": "Acme Corp", "email": "ops@acme.example", "industry": "Manufacturing",
         "status": "Active", "owner": "Dana Li"},
        {"client_id": GLOBEX, "name": "Globex", "email": "hello@globex.example", "industry": "Energy",
         "status": "Prospect"},
    ],
    "Contact": [{"contact_id": CONTACT, "first_name": "Maya", "last_name": "Ortiz", "client_id": ACME,
                 "title": "CFO", "email": "maya@acme.example"}],
    "Opportunity": [
        {"opportunity_id": OPP_ACME, "name": "Acme Renewal 2026", "client_id": ACME, "stage": "Proposal",
         "amount": 250000.0, "close_date": "2026-03-31", "owner": "Dana Li", "probability": 60},
        {"opportunity_id": OPP_GLOBEX, "name": "Globex Pilot", "client_id": GLOBEX, "stage": "Qualification",
         "amount": 40000.0, "close_date": "2026-02-28", "owner": "Sam Roy", "probability": 30},
        {"opportunity_id": OPP_WON, "name": "Acme Expansion", "client_id": ACME, "stage": "Closed-Won",
         "amount": 90000.0, "close_date": "2025-12-15", "owner": "Dana Li", "probability": 100},
    ],
    "Quote": [
        {"quote_id": QUOTE_1, "opportunity_id": OPP_ACME, "amount": 245000.0, "status": "Sent", "version": "1.0",
         "quote_prefix": "Q-2026", "valid_until": "2026-02-15"},
        {"quote_id": QUOTE_2, "opportunity_id": OPP_ACME, "amount": 238000.0, "status": "Draft", "version": "2.0",
         "quote_prefix": "Q-2026", "valid_until": "2026-02-28"},
    ],
}


def turn(n: int, intent: str, utterance: str, calls: list, facts: Any = (), error: str | None = None,
         category: str | None = None) -> dict[str, Any]:
    data = {"turn_id": n, "intent": intent, "utterance": utterance,
            "gold_calls": [{"tool": t, "arguments": a} for t, a in calls],
            "reply_facts": [{"label": label, "value": value} for label, value in facts]}
    if error:
        data.update(expect_success=False, expected_error=error, failure_category=category)
    return data


def conversation(cid: str, workflow: str, complexity: str, turns: list) -> dict[str, Any]:
    return {"format_version": 1, "conversation_id": cid, "workflow": workflow, "complexity": complexity,
            "as_of": "2026-01-15T09:00:00Z", "initial_records": RECORDS, "turns": turns}


CONVERSATIONS: list[dict[str, Any]] = [
    conversation("fx-001", "Cross-Entity", "medium", [
        turn(1, "CREATE NEW CLIENT", "Add a new client called Initech, e-mail sales@initech.example, industry Software.",
             [("create_new_client", {"name": "Initech", "email": "sales@initech.example", "industry": "Software"})]),
        turn(2, "CREATE NEW OPPORTUNITY",
             "Open a deal 'Initech Onboarding' for that client ({{turn_1.client_id}}) worth $120,000, closing 2026-06-30.",
             [("create_new_opportunity", {"name": "Initech Onboarding", "client_id": "{{turn_1.client_id}}",
                                          "amount": 120000, "close_date": "2026-06-30"})]),
        turn(3, "CREATE QUOTE", "Create a quote for that deal ({{turn_2.opportunity_id}}) at 115000 with prefix Q-INI.",
             [("create_quote", {"opportunity_id": "{{turn_2.opportunity_id}}", "amount": 115000,
                                "quote_prefix": "Q-INI"})]),
        turn(4, "MODIFY OPPORTUNITY", "Set the probability of that deal to 150%.",
             [("modify_opportunity", {"opportunity_id": "{{turn_2.opportunity_id}}", "probability": 150})],
             error="validation_error", category="probability_bounds"),
    ]),
    conversation("fx-002", "Opportunity Management", "simple", [
        turn(1, "OPPORTUNITY SEARCH", "Which opportunities are in the Proposal stage?",
             [("opportunity_search", {"stage": "Proposal"})],
             facts=[("name", "Acme Renewal 2026"), ("amount", 250000)]),
        turn(2, "MODIFY OPPORTUNITY", f"Move the Acme Renewal 2026 deal ({OPP_ACME}) to Negotiation at 75% probability.",
             [("modify_opportunity", {"opportunity_id": OPP_ACME, "stage": "Negotiation", "probability": 75})]),
    ]),
    conversation("fx-003", "Opportunity Management", "simple", [
        turn(1, "MODIFY OPPORTUNITY", f"Change the stage of deal {OPP_GLOBEX} to closed-won.",
             [("modify_opportunity", {"opportunity_id": OPP_GLOBEX, "stage": "closed-won"})],
             error="validation_error", category="enum_casing"),
        turn(2, "SUMMARIZE OPPORTUNITIES", "Summarise Acme Corp's pipeline for me.",
             [("summarize_opportunities", {"client_id": ACME})],
             facts=[("count", 2), ("total_amount", 340000)]),
    ]),
    conversation("fx-004", "Quote Management", "medium", [
        turn(1, "COMPARE QUOTES", f"Compare quotes {QUOTE_1} and {QUOTE_2}.",
             [("compare_quotes", {"quote_ids": [QUOTE_1, QUOTE_2]})], facts=[("amount_difference", 7000)]),
        turn(2, "CANCEL QUOTE", f"Cancel quote {QUOTE_1}.", [("cancel_quote", {"quote_id": QUOTE_1})]),
        turn(3, "UPLOAD DOCUMENT", f"Upload the signed proposal 'acme-proposal.pdf' to deal {OPP_ACME}.",
             [("upload_document", {"entity_type": "Opportunity", "entity_id": OPP_ACME,
                                   "file_name": "acme-proposal.pdf"})]),
        turn(4, "MODIFY OPPORTUNITY", f"Raise the amount of the Acme Expansion deal ({OPP_WON}) to 95000.",
             [("modify_opportunity", {"opportunity_id": OPP_WON, "amount": 95000})],
             error="rule_violation", category="closed_deal_edit"),
        turn(5, "DELETE QUOTE", f"Delete quote {QUOTE_2}.", [("delete_quote", {"quote_id": QUOTE_2})]),
    ]),
    conversation("fx-005", "Contact Management", "simple", [
        turn(1, "CONTACT SEARCH", "Find the contacts at Acme Corp.", [("contact_search", {"client_id": ACME})],
             facts=[("name", "Maya Ortiz"), ("title", "CFO")]),
        turn(2, "CREATE NEW CONTACT", "Add Raj Patel, VP Sales, as a contact at Globex.",
             [("create_new_contact", {"first_name": "Raj", "last_name": "Patel", "client_id": GLOBEX,
                                      "title": "VP Sales"})]),
        turn(3, "CREATE NEW CLIENT", "Create a client Acme Two with e-mail OPS@acme.example.",
             [("create_new_client", {"name": "Acme Two", "email": "OPS@acme.example"})],
             error="conflict", category="duplicate_email"),
    ]),
]

IDS = tuple(c["conversation_id"] for c in CONVERSATIONS)


def conversations() -> list[Conversation]:
    """Fresh, validated ``Conversation`` objects (an env may be handed them as its dataset)."""
    return [Conversation.model_validate(c) for c in CONVERSATIONS]


def write_jsonl(path: Path) -> str:
    """Write the conversations as a JSONL dataset file; returns the path as text."""
    path.write_text("".join(c.model_dump_json() + "\n" for c in conversations()), encoding="utf-8")
    return str(path)
