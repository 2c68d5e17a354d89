"""Our models against the customer's schema file (fields, types, enums, required, formats, bounds).

The files live outside the repository (../shared/data); the tests skip only when they are absent.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from crm_env.datasets.intents import INTENT_COUNTS, TaskIntent
from crm_env.schema.enums import Entity
from crm_env.schema.facts import ENTITIES

DATA = Path(__file__).parents[2] / ".." / "shared" / "data"
SCHEMA_FILE = DATA / "fake_crm_tables_schema.json"
TASKS_FILE = DATA / "Agent_tasks.csv"

# Where we are deliberately stricter than the customer's file, a refinement (never a contradiction):
# ids are UUIDs, and probability is a whole number within the schema's 0-100.
REFINED_FORMATS = {None: {"uuid"}}
REFINED_TYPES = {"number": {"integer"}}


@pytest.fixture(scope="module")
def schema() -> dict:
    if not SCHEMA_FILE.exists():
        pytest.skip(f"{SCHEMA_FILE} is absent")
    return json.loads(SCHEMA_FILE.read_text())["properties"]


def test_same_entities(schema):
    assert set(schema) == {e.value for e in Entity}


@pytest.mark.parametrize("entity", list(Entity), ids=str)
def test_fields_required_types_formats_and_enums(schema, entity):
    theirs = schema[entity.value]
    facts = ENTITIES[entity]
    assert list(facts.field_names) == list(theirs["properties"]), "fields differ (or their order)"
    assert {f.name for f in facts.fields if f.required} == set(theirs["required"])
    for field in facts.fields:
        spec = theirs["properties"][field.name]
        assert field.json_type == spec["type"] or field.json_type in REFINED_TYPES.get(spec["type"], ()), field.name
        their_format = spec.get("format")
        assert field.format == their_format or field.format in REFINED_FORMATS.get(their_format, ()), field.name
        if "enum" in spec:
            assert field.enum is not None, f"{field.name} should be an enum"
            assert [m.value for m in field.enum] == spec["enum"]  # exact, case-sensitive, same order
        else:
            assert field.enum is None, field.name
        if spec["type"] == "array":
            assert spec["items"] == {"type": "string"}


@pytest.mark.parametrize("entity", list(Entity), ids=str)
def test_numeric_bounds_of_the_schema_are_enforced(schema, entity):
    ours = ENTITIES[entity].model.model_json_schema()["properties"]
    for name, spec in schema[entity.value]["properties"].items():
        mine = next(s for s in ours[name].get("anyOf", [ours[name]]) if s.get("type") != "null")
        if "minimum" in spec:
            assert mine.get("minimum", mine.get("exclusiveMinimum")) >= spec["minimum"], name
        if "maximum" in spec:
            assert mine["maximum"] <= spec["maximum"], name


def test_model_descriptions_follow_the_schema(schema):
    # Prompts describe entities with our docstrings; they should say what the customer's file says.
    for entity in Entity:
        theirs = schema[entity.value]["description"].rstrip(".").lower()
        ours = (ENTITIES[entity].model.__doc__ or "").lower()
        words = [w for w in theirs.replace("/", " ").replace("(", " ").replace(")", " ").split() if len(w) > 3]
        assert all(w.strip(",") in ours for w in words), entity


def test_intent_counts_match_the_task_table():
    if not TASKS_FILE.exists():
        pytest.skip(f"{TASKS_FILE} is absent")
    with TASKS_FILE.open(newline="") as handle:
        rows = {row["task_description"].strip(): int(row["count"]) for row in csv.DictReader(handle)}
    assert rows == {intent.value: INTENT_COUNTS[intent] for intent in TaskIntent}
