"""Schema facts derived from the entity models: ids, foreign keys, enums, ordering.

Backends, seed validation, prompts and the SQL tables read these instead of restating the schema.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType, NoneType, UnionType
from typing import Any

from pydantic import WithJsonSchema

from crm_env.schema import models
from crm_env.schema.enums import Entity
from crm_env.schema.types import References


@dataclass(frozen=True, slots=True)
class FieldFact:
    name: str
    required: bool
    json_type: str  # "string", "number", "integer" or "array"
    enum: type[Enum] | None
    references: Entity | None
    format: str | None  # "uuid", "email", "date", "date-time", "uri" or None


@dataclass(frozen=True, slots=True)
class EntityFacts:
    entity: Entity
    model: type[models.Record]
    id_field: str
    fields: tuple[FieldFact, ...]
    sort_key: tuple[str, ...]
    created_field: str | None  # stamped from the clock when a record is created
    polymorphic: bool  # attached to another record through (entity_type, entity_id)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> FieldFact:
        for fact in self.fields:
            if fact.name == name:
                return fact
        raise KeyError(name)


# Display order: a required, human-meaningful field first, then the id as a tie-breaker, so every
# backend can return the same order with a byte-wise comparison.
_SORT_KEYS: dict[Entity, tuple[str, ...]] = {
    Entity.CLIENT: ("name", "client_id"),
    Entity.CONTACT: ("last_name", "first_name", "contact_id"),
    Entity.OPPORTUNITY: ("name", "opportunity_id"),
    Entity.QUOTE: ("created_date", "quote_id"),
    Entity.CONTRACT: ("contract_id",),
    Entity.COMPANY: ("name", "company_id"),
    Entity.DOCUMENT: ("uploaded_at", "document_id"),
    Entity.NOTE: ("created_at", "note_id"),
}
_CREATED_FIELDS = {
    Entity.CLIENT: "created_date",
    Entity.QUOTE: "created_date",
    Entity.DOCUMENT: "uploaded_at",
    Entity.NOTE: "created_at",
}


def _field_fact(name: str, info: Any) -> FieldFact:
    annotation = info.annotation
    if isinstance(annotation, UnionType) or typing.get_origin(annotation) is typing.Union:
        annotation = next(a for a in typing.get_args(annotation) if a is not NoneType)
    metadata = list(info.metadata)
    if typing.get_origin(annotation) is typing.Annotated:
        metadata = list(annotation.__metadata__) + metadata
        annotation = annotation.__origin__
    enum = annotation if isinstance(annotation, type) and issubclass(annotation, Enum) else None
    references = next((m.entity for m in metadata if isinstance(m, References)), None)
    schema = next((m.json_schema for m in metadata if isinstance(m, WithJsonSchema)), None) or {}
    json_type = "array" if typing.get_origin(annotation) is list else schema.get("type", "string")
    return FieldFact(name, info.is_required(), json_type, enum, references, schema.get("format"))


def _build() -> MappingProxyType[Entity, EntityFacts]:
    facts = {}
    for entity in Entity:
        model: type[models.Record] = getattr(models, entity.value)
        fields = tuple(_field_fact(n, i) for n, i in model.model_fields.items())
        facts[entity] = EntityFacts(
            entity=entity,
            model=model,
            id_field=fields[0].name,
            fields=fields,
            sort_key=_SORT_KEYS[entity],
            created_field=_CREATED_FIELDS.get(entity),
            polymorphic="entity_type" in model.model_fields,
        )
    return MappingProxyType(facts)


ENTITIES: MappingProxyType[Entity, EntityFacts] = _build()


def id_field(entity: Entity) -> str:
    return ENTITIES[entity].id_field


def entity_of_id_field(name: str) -> Entity | None:
    """The entity whose primary key is called ``name`` (e.g. ``client_id`` → Client)."""
    for facts in ENTITIES.values():
        if facts.id_field == name:
            return facts.entity
    return None
