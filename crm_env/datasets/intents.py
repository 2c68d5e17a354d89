"""The customer's task intents, their observed frequencies and the tool that serves each.

Facts taken from the customer's task table (Agent_tasks.csv): 28 intents with their counts, and the
eight workflow categories. The fidelity test checks these against the file when it is present.
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Any

from pydantic import BeforeValidator


class TaskIntent(StrEnum):
    CREATE_NEW_OPPORTUNITY = "CREATE NEW OPPORTUNITY"
    MODIFY_OPPORTUNITY = "MODIFY OPPORTUNITY"
    OPPORTUNITY_SEARCH = "OPPORTUNITY SEARCH"
    UPLOAD_DOCUMENT = "UPLOAD DOCUMENT"
    CREATE_QUOTE = "CREATE QUOTE"
    VIEW_OPPORTUNITY_DETAILS = "VIEW OPPORTUNITY DETAILS"
    CONTACT_SEARCH = "CONTACT SEARCH"
    CLONE_OPPORTUNITY = "CLONE OPPORTUNITY"
    SUMMARIZE_OPPORTUNITIES = "SUMMARIZE OPPORTUNITIES"
    CLIENT_SEARCH = "CLIENT SEARCH"
    CREATE_NEW_CLIENT = "CREATE NEW CLIENT"
    CREATE_NEW_CONTACT = "CREATE NEW CONTACT"
    CONTRACT_SEARCH = "CONTRACT SEARCH"
    QUOTE_SEARCH = "QUOTE SEARCH"
    CREATE_NEW_CONTRACT = "CREATE NEW CONTRACT"
    COMPANY_SEARCH = "COMPANY SEARCH"
    OPPORTUNITY_DETAILS = "OPPORTUNITY DETAILS"
    MODIFY_CLIENT = "MODIFY CLIENT"
    MODIFY_QUOTE = "MODIFY QUOTE"
    CANCEL_QUOTE = "CANCEL QUOTE"
    MODIFY_CONTACT = "MODIFY CONTACT"
    ADD_NOTE = "ADD NOTE"
    COMPARE_QUOTE_DETAILS = "COMPARE QUOTE DETAILS"
    COMPARE_QUOTES = "COMPARE QUOTES"
    DELETE_OPPORTUNITY = "DELETE OPPORTUNITY"
    DELETE_QUOTE = "DELETE QUOTE"
    QUOTE_DETAILS = "QUOTE DETAILS"
    QUOTE_PREFIXES = "QUOTE PREFIXES"

    @property
    def tool(self) -> str:
        """The catalog tool that carries out this intent."""
        return INTENT_TOOLS[self]

    @property
    def frequency(self) -> int:
        """How often the customer observed this task."""
        return INTENT_COUNTS[self]


class Workflow(StrEnum):
    """The customer's workflow categories, plus cross-entity workflows that span several."""

    OPPORTUNITY = "Opportunity Management"
    CLIENT = "Client Management"
    CONTACT = "Contact Management"
    QUOTE = "Quote Management"
    CONTRACT = "Contract Management"
    COMPANY = "Company / Account Management"
    DOCUMENT = "Document Management"
    NOTES = "Notes & Collaboration"
    CROSS_ENTITY = "Cross-Entity"


INTENT_COUNTS: MappingProxyType[TaskIntent, int] = MappingProxyType(
    {
        TaskIntent.CREATE_NEW_OPPORTUNITY: 3683,
        TaskIntent.MODIFY_OPPORTUNITY: 2939,
        TaskIntent.OPPORTUNITY_SEARCH: 2279,
        TaskIntent.UPLOAD_DOCUMENT: 2190,
        TaskIntent.CREATE_QUOTE: 1804,
        TaskIntent.VIEW_OPPORTUNITY_DETAILS: 878,
        TaskIntent.CONTACT_SEARCH: 375,
        TaskIntent.CLONE_OPPORTUNITY: 267,
        TaskIntent.SUMMARIZE_OPPORTUNITIES: 194,
        TaskIntent.CLIENT_SEARCH: 192,
        TaskIntent.CREATE_NEW_CLIENT: 142,
        TaskIntent.CREATE_NEW_CONTACT: 111,
        TaskIntent.CONTRACT_SEARCH: 40,
        TaskIntent.QUOTE_SEARCH: 32,
        TaskIntent.CREATE_NEW_CONTRACT: 24,
        TaskIntent.COMPANY_SEARCH: 8,
        TaskIntent.OPPORTUNITY_DETAILS: 6,
        TaskIntent.MODIFY_CLIENT: 3,
        TaskIntent.MODIFY_QUOTE: 3,
        TaskIntent.CANCEL_QUOTE: 2,
        TaskIntent.MODIFY_CONTACT: 2,
        TaskIntent.ADD_NOTE: 1,
        TaskIntent.COMPARE_QUOTE_DETAILS: 1,
        TaskIntent.COMPARE_QUOTES: 1,
        TaskIntent.DELETE_OPPORTUNITY: 1,
        TaskIntent.DELETE_QUOTE: 1,
        TaskIntent.QUOTE_DETAILS: 1,
        TaskIntent.QUOTE_PREFIXES: 1,
    }
)

# Tool names follow the intents; only "CREATE NEW CONTRACT" is served by a tool named otherwise.
INTENT_TOOLS: MappingProxyType[TaskIntent, str] = MappingProxyType(
    {
        intent: "create_contract"
        if intent is TaskIntent.CREATE_NEW_CONTRACT
        else intent.value.lower().replace(" ", "_")
        for intent in TaskIntent
    }
)

_WORKFLOW_WORDS: tuple[tuple[Workflow, str], ...] = (
    (Workflow.OPPORTUNITY, "OPPORTUNIT"),
    (Workflow.CLIENT, "CLIENT"),
    (Workflow.CONTACT, "CONTACT"),
    (Workflow.QUOTE, "QUOTE"),
    (Workflow.CONTRACT, "CONTRACT"),
    (Workflow.COMPANY, "COMPANY"),
    (Workflow.DOCUMENT, "DOCUMENT"),
    (Workflow.NOTES, "NOTE"),
)

INTENT_WORKFLOWS: MappingProxyType[TaskIntent, Workflow] = MappingProxyType(
    {intent: next(w for w, word in _WORKFLOW_WORDS if word in intent.value) for intent in TaskIntent}
)


def parse_intent(text: str) -> TaskIntent:
    """An intent named loosely on a command line ("create quote", "CREATE_QUOTE"); ValueError naming the
    intents when it is none of them."""
    wanted = " ".join(str(text).replace("_", " ").replace("-", " ").upper().split())
    try:
        return TaskIntent(wanted)
    except ValueError:
        raise ValueError(f"no intent {text!r}; the intents are: {', '.join(i.value for i in TaskIntent)}") from None


def _loose_intents(value: Any) -> Any:
    return tuple(parse_intent(v) for v in value) if isinstance(value, list | tuple) else value


# Intents in a configuration, each named as loosely as ``parse_intent`` reads them.
Intents = Annotated[tuple[TaskIntent, ...], BeforeValidator(_loose_intents)]
