"""The schema's enumerations, declared once.

Values are exactly the customer's (case-sensitive); every check, prompt and table derives from here.
"""

from __future__ import annotations

from enum import StrEnum


class Entity(StrEnum):
    """The eight record types of the CRM."""

    CLIENT = "Client"
    CONTACT = "Contact"
    OPPORTUNITY = "Opportunity"
    QUOTE = "Quote"
    CONTRACT = "Contract"
    COMPANY = "Company"
    DOCUMENT = "Document"
    NOTE = "Note"


class ClientStatus(StrEnum):
    ACTIVE = "Active"
    PROSPECT = "Prospect"
    INACTIVE = "Inactive"


class OpportunityStage(StrEnum):
    PROSPECTING = "Prospecting"
    QUALIFICATION = "Qualification"
    PROPOSAL = "Proposal"
    NEGOTIATION = "Negotiation"
    CLOSED_WON = "Closed-Won"
    CLOSED_LOST = "Closed-Lost"


CLOSED_STAGES: frozenset[str] = frozenset({OpportunityStage.CLOSED_WON, OpportunityStage.CLOSED_LOST})


class QuoteStatus(StrEnum):
    DRAFT = "Draft"
    SENT = "Sent"
    APPROVED = "Approved"
    REJECTED = "Rejected"
    CANCELED = "Canceled"


class ContractStatus(StrEnum):
    ACTIVE = "Active"
    PENDING = "Pending"
    EXPIRED = "Expired"


class CompanyType(StrEnum):
    PARTNER = "Partner"
    VENDOR = "Vendor"
    COMPETITOR = "Competitor"


class DocumentEntityType(StrEnum):
    """Record types a document may be uploaded against."""

    OPPORTUNITY = "Opportunity"
    CONTRACT = "Contract"
    QUOTE = "Quote"
    CLIENT = "Client"


class NoteEntityType(StrEnum):
    """Record types a note may be attached to."""

    OPPORTUNITY = "Opportunity"
    CLIENT = "Client"
    CONTACT = "Contact"
    QUOTE = "Quote"
    CONTRACT = "Contract"


class ToolKind(StrEnum):
    """Whether a tool only reads the CRM or may change it."""

    READ = "read"
    WRITE = "write"
