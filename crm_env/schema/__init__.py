"""Entity models, enums, schema facts and the episode clock."""

from crm_env.schema.clock import Clock
from crm_env.schema.enums import (
    CLOSED_STAGES,
    ClientStatus,
    CompanyType,
    ContractStatus,
    DocumentEntityType,
    Entity,
    NoteEntityType,
    OpportunityStage,
    QuoteStatus,
    ToolKind,
)
from crm_env.schema.facts import ENTITIES, EntityFacts, FieldFact

__all__ = [
    "CLOSED_STAGES",
    "ENTITIES",
    "ClientStatus",
    "Clock",
    "CompanyType",
    "ContractStatus",
    "DocumentEntityType",
    "Entity",
    "EntityFacts",
    "FieldFact",
    "NoteEntityType",
    "OpportunityStage",
    "QuoteStatus",
    "ToolKind",
]
