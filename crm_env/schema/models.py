"""The eight CRM entities as strict pydantic models.

Written from the facts of the customer's schema (fields, types, required fields, enums); the
fidelity test compares them against the customer's file. A record in a store is the JSON form of one
of these models, with every field present (``None`` where unset).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from crm_env.schema.enums import (
    ClientStatus,
    CompanyType,
    ContractStatus,
    DocumentEntityType,
    NoteEntityType,
    OpportunityStage,
    QuoteStatus,
)
from crm_env.schema.types import (
    Amount,
    ClientId,
    ContractValue,
    Email,
    Id,
    IsoDate,
    LongText,
    OpportunityId,
    Probability,
    Text,
    Timestamp,
    Url,
)


class Record(BaseModel):
    """Base of every entity model: strict about unknown fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Client(Record):
    """Accounts and prospects tracked by the revenue team."""

    client_id: Id
    name: Text
    industry: Text | None = None
    email: Email | None = None
    phone: Text | None = None
    address: Text | None = None
    status: ClientStatus | None = None
    created_date: Timestamp | None = None
    owner: Text | None = None


class Contact(Record):
    """People associated with a client who can be engaged."""

    contact_id: Id
    first_name: Text
    last_name: Text
    title: Text | None = None
    email: Email | None = None
    phone: Text | None = None
    client_id: ClientId
    notes: LongText | None = None


class Opportunity(Record):
    """Sales pipeline records tied to a client."""

    opportunity_id: Id
    name: Text
    client_id: ClientId
    stage: OpportunityStage | None = None
    amount: Amount | None = None
    close_date: IsoDate | None = None
    owner: Text | None = None
    probability: Probability | None = None
    notes: LongText | None = None


class Quote(Record):
    """Pricing proposals generated for a given opportunity."""

    quote_id: Id
    opportunity_id: OpportunityId
    version: Text | None = None
    amount: Amount | None = None
    status: QuoteStatus | None = None
    valid_until: IsoDate | None = None
    created_date: Timestamp | None = None
    quote_prefix: Text | None = None


class Contract(Record):
    """Executed agreements for a client or opportunity."""

    contract_id: Id
    client_id: ClientId
    opportunity_id: OpportunityId | None = None
    start_date: IsoDate | None = None
    end_date: IsoDate | None = None
    value: ContractValue | None = None
    status: ContractStatus | None = None
    document_url: Url | None = None


class Company(Record):
    """Reference companies (partners, vendors, competitors)."""

    company_id: Id
    name: Text
    type: CompanyType | None = None
    industry: Text | None = None
    address: Text | None = None
    contacts: list[Text] | None = None


class Document(Record):
    """Files uploaded against another CRM record."""

    document_id: Id
    entity_type: DocumentEntityType
    entity_id: Id
    file_name: Text | None = None
    uploaded_by: Text | None = None
    uploaded_at: Timestamp | None = None
    file_url: Url | None = None


class Note(Record):
    """Internal collaboration notes linked to CRM records."""

    note_id: Id
    entity_type: NoteEntityType
    entity_id: Id
    content: LongText
    created_by: Text | None = None
    created_at: Timestamp | None = None
