"""``build_seed``: initial records are checked once; problems are all reported, none crash."""

from __future__ import annotations

import pytest

from crm_env import Seed, SeedError, build_seed
from crm_env.schema.clock import Clock
from crm_env.schema.enums import Entity

CLOCK = Clock.at("2026-01-15T09:00:00Z")
C1 = "11111111-1111-4111-8111-111111111111"
C2 = "11111111-1111-4111-8111-222222222222"
O1 = "22222222-2222-4222-8222-111111111111"


def test_valid_records_become_complete_json_records():
    seed = build_seed({"Client": [{"client_id": C1, "name": "Acme"}]}, CLOCK)
    (client,) = seed.records[Entity.CLIENT]
    assert client["created_date"] == "2026-01-15T09:00:00Z"  # filled from the clock
    assert client["email"] is None and set(client) >= {"industry", "owner"}  # every field present
    assert seed.size == 1
    assert seed.to_json() == {"Client": [client]}
    assert build_seed(seed, CLOCK) is seed


def test_given_creation_stamps_are_kept():
    seed = build_seed({"Client": [{"client_id": C1, "name": "A", "created_date": "2025-01-01T00:00:00Z"}]}, CLOCK)
    assert seed.records[Entity.CLIENT][0]["created_date"] == "2025-01-01T00:00:00Z"


def test_records_keyed_by_id_are_accepted():
    # The previous tool's shape: {"Client": {id: fields}}.
    seed = build_seed({"Client": {C1: {"name": "Acme"}}}, CLOCK)
    assert seed.records[Entity.CLIENT][0]["client_id"] == C1


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({"Customer": []}, "unknown record type"),
        ({"Client": "nope"}, "must be a list"),
        ({"Client": [42]}, "must be an object"),
        ({"Client": [{"client_id": C1}]}, "name"),
        ({"Client": [{"client_id": C1, "name": "A", "tier": "gold"}]}, "tier"),
        ({"Client": [{"client_id": C1, "name": "A"}, {"client_id": C1, "name": "B"}]}, "appears twice"),
        ({"Opportunity": [{"opportunity_id": O1, "name": "D", "client_id": C1}]}, "does not exist"),
        ({"Note": [{"note_id": O1, "entity_type": "Client", "entity_id": C1, "content": "x"}]}, "does not exist"),
        (
            {"Client": [{"client_id": C1, "name": "A", "email": "x@y.com"}, {"client_id": C2, "name": "B", "email": "X@Y.COM"}]},
            "already used",
        ),
        ([], "object of record type"),
    ],
)
def test_invalid_records_raise_seed_error(raw, fragment):
    with pytest.raises(SeedError, match=fragment):
        build_seed(raw, CLOCK)


def test_every_problem_is_reported_at_once():
    with pytest.raises(SeedError) as info:
        build_seed({"Client": [{"client_id": "bad", "name": "A"}, {"client_id": C2, "name": ""}]}, CLOCK)
    assert "'bad'" in str(info.value) and C2 in str(info.value)


def test_seed_is_immutable_in_shape():
    seed = build_seed({"Client": [{"client_id": C1, "name": "A"}]}, CLOCK)
    assert isinstance(seed, Seed)
    assert isinstance(seed.records[Entity.CLIENT], tuple)
    with pytest.raises(AttributeError):
        seed.records = {}  # type: ignore[misc]
