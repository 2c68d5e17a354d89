"""Entity models: strict, with the field checks that every seed record and tool argument shares."""

from __future__ import annotations

import pydantic
import pytest

from crm_env.schema import models
from crm_env.schema.enums import CLOSED_STAGES, Entity, OpportunityStage
from crm_env.schema.facts import ENTITIES, entity_of_id_field

CID = "11111111-1111-4111-8111-111111111111"
OID = "22222222-2222-4222-8222-222222222222"


def test_one_model_per_entity_with_its_id_first():
    for entity in Entity:
        facts = ENTITIES[entity]
        assert facts.model is getattr(models, entity.value)
        assert facts.id_field == facts.field_names[0]
        assert entity_of_id_field(facts.id_field) is entity


def test_models_forbid_unknown_fields_and_are_frozen():
    with pytest.raises(pydantic.ValidationError, match="extra"):
        models.Client(client_id=CID, name="A", website="x")
    client = models.Client(client_id=CID, name="A")
    with pytest.raises(pydantic.ValidationError):
        client.name = "B"  # type: ignore[misc]


def test_relationships_are_declared_as_references():
    refs = {(e, f.name): f.references for e, facts in ENTITIES.items() for f in facts.fields if f.references}
    assert refs == {
        (Entity.CONTACT, "client_id"): Entity.CLIENT,
        (Entity.OPPORTUNITY, "client_id"): Entity.CLIENT,
        (Entity.QUOTE, "opportunity_id"): Entity.OPPORTUNITY,
        (Entity.CONTRACT, "client_id"): Entity.CLIENT,
        (Entity.CONTRACT, "opportunity_id"): Entity.OPPORTUNITY,
    }
    assert {e for e, f in ENTITIES.items() if f.polymorphic} == {Entity.DOCUMENT, Entity.NOTE}


def test_closed_stages():
    assert CLOSED_STAGES == {OpportunityStage.CLOSED_WON, OpportunityStage.CLOSED_LOST}


@pytest.mark.parametrize(
    "fields",
    [
        {"client_id": "not-a-uuid", "name": "A"},
        {"client_id": CID, "name": ""},
        {"client_id": CID, "name": "A", "email": "a@b"},
        {"client_id": CID, "name": "A", "status": "active"},
        {"client_id": CID, "name": "A", "created_date": "2026-01-15T09:00:00"},  # no time zone
        {"client_id": CID, "name": 5},  # strict: no coercion from numbers
    ],
)
def test_client_rejects_bad_values(fields):
    with pytest.raises(pydantic.ValidationError):
        models.Client(**fields)


@pytest.mark.parametrize(
    ("fields", "ok"),
    [
        ({"amount": 10_000_000}, True),
        ({"amount": 0}, False),
        ({"amount": "5"}, False),
        ({"probability": 100}, True),
        ({"probability": 100.5}, False),
        ({"probability": True}, False),
        ({"close_date": "2026-02-29"}, False),  # not a leap year
        ({"close_date": "2028-02-29"}, True),
        ({"close_date": "2026-1-5"}, False),
    ],
)
def test_opportunity_field_checks(fields, ok):
    build = lambda: models.Opportunity(opportunity_id=OID, name="D", client_id=CID, **fields)
    if ok:
        build()
    else:
        with pytest.raises(pydantic.ValidationError):
            build()


def test_ids_and_timestamps_are_normalised():
    client = models.Client(client_id=CID.upper(), name="A", created_date="2026-01-15T11:00:00+02:00")
    assert client.client_id == CID  # one spelling per id, so lookups never depend on hex case
    assert client.created_date == "2026-01-15T09:00:00Z"


def test_contract_value_may_be_zero_but_not_negative():
    models.Contract(contract_id=OID, client_id=CID, value=0)
    with pytest.raises(pydantic.ValidationError):
        models.Contract(contract_id=OID, client_id=CID, value=-0.01)


def test_attachments_name_their_parent_type():
    models.Document(document_id=OID, entity_type="Quote", entity_id=CID, file_name="a.pdf")
    with pytest.raises(pydantic.ValidationError):
        models.Document(document_id=OID, entity_type="Contact", entity_id=CID)  # documents never go on contacts
    with pytest.raises(pydantic.ValidationError):
        models.Note(note_id=OID, entity_type="Client", entity_id=CID)  # content is required
