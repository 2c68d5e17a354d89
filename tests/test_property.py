"""Property test: whatever an agent sends through ``CrmSandbox.call``, the sandbox never raises and
the CRM stays consistent.

Each example starts from a small seeded CRM and makes a few calls with random tool names and
argument dicts mixing plausible values (real ids, valid enum values, dates) with junk (wrong types,
huge strings, unicode, SQL-looking text, nulls, nested containers, missing and extra fields). Plausible
values matter: pure junk would only ever exercise argument parsing, never the writes and rules.
"""

from __future__ import annotations

import copy
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_env.errors import TOOL_ERROR_KINDS
from crm_env.schema.enums import Entity
from crm_env.schema.facts import ENTITIES
from crm_env.tools import TOOL_NAMES, get_spec

CLIENT_A = "11111111-1111-4111-8111-111111111111"
CLIENT_B = "11111111-1111-4111-8111-222222222222"
OPP_A = "22222222-2222-4222-8222-111111111111"
OPP_CLOSED = "22222222-2222-4222-8222-222222222222"
QUOTE_A = "33333333-3333-4333-8333-111111111111"
QUOTE_B = "33333333-3333-4333-8333-222222222222"
CONTRACT_A = "44444444-4444-4444-8444-111111111111"
CONTACT_A = "55555555-5555-4555-8555-111111111111"
COMPANY_A = "66666666-6666-4666-8666-111111111111"
DOC_A = "77777777-7777-4777-8777-111111111111"
NOTE_A = "88888888-8888-4888-8888-111111111111"

SEED = {
    "Client": [
        {"client_id": CLIENT_A, "name": "Acme", "email": "sales@acme.com", "status": "Active"},
        {"client_id": CLIENT_B, "name": "Beta", "email": "info@beta.io"},
    ],
    "Contact": [{"contact_id": CONTACT_A, "first_name": "Ada", "last_name": "King", "client_id": CLIENT_A}],
    "Opportunity": [
        {"opportunity_id": OPP_A, "name": "Renewal", "client_id": CLIENT_A, "stage": "Proposal", "amount": 5000.0},
        {"opportunity_id": OPP_CLOSED, "name": "Won", "client_id": CLIENT_B, "stage": "Closed-Won", "amount": 10.0},
    ],
    "Quote": [
        {"quote_id": QUOTE_A, "opportunity_id": OPP_A, "amount": 100.0, "quote_prefix": "Q-1"},
        {"quote_id": QUOTE_B, "opportunity_id": OPP_CLOSED, "status": "Canceled"},
    ],
    "Contract": [{"contract_id": CONTRACT_A, "client_id": CLIENT_B, "opportunity_id": OPP_CLOSED}],
    "Company": [{"company_id": COMPANY_A, "name": "Globex", "type": "Vendor", "contacts": ["Hank"]}],
    "Document": [{"document_id": DOC_A, "entity_type": "Quote", "entity_id": QUOTE_A, "file_name": "q.pdf"}],
    "Note": [{"note_id": NOTE_A, "entity_type": "Opportunity", "entity_id": OPP_A, "content": "hi"}],
}
IDS_BY_FIELD = {
    "client_id": [CLIENT_A, CLIENT_B],
    "opportunity_id": [OPP_A, OPP_CLOSED],
    "quote_id": [QUOTE_A, QUOTE_B],
    "contract_id": [CONTRACT_A],
    "contact_id": [CONTACT_A],
    "company_id": [COMPANY_A],
    "document_id": [DOC_A],
    "note_id": [NOTE_A],
}
IDS = [CLIENT_A, CLIENT_B, OPP_A, OPP_CLOSED, QUOTE_A, QUOTE_B, CONTRACT_A, CONTACT_A, COMPANY_A, DOC_A, NOTE_A]
ENUM_VALUES = sorted({m.value for facts in ENTITIES.values() for f in facts.fields if f.enum for m in f.enum})
ARGUMENT_NAMES = sorted({name for name in TOOL_NAMES for name in get_spec(name).argument_names})

SQLISH = st.sampled_from(
    ["'; DROP TABLE clients; --", "1 OR 1=1", "%", "_", "\\", "' OR ''='", "NULL", "\x00", "Robert'); --"]
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.text(min_size=2001, max_size=2100, alphabet="ab\u00e9\u4e2d"),  # just over the text limits
    SQLISH,
    st.sampled_from(IDS),
    st.sampled_from([i.upper() for i in IDS]),
    st.sampled_from(ENUM_VALUES + [v.lower() for v in ENUM_VALUES]),
    st.sampled_from(["2026-01-15", "2026-12-31", "2025-01-01", "2026-02-30", "a@b.co", "A@ACME.COM", "x.pdf", "x.exe"]),
    st.sampled_from([0, 0.5, 1, 50, 100, 101, 10_000_000, 10_000_001, -1]),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=6)



DIE = st.sampled_from(range(10))  # uniform choices; integers() leans towards small values


def plausible(spec, name: str) -> st.SearchStrategy:
    """A value of the right shape for an argument, so that many calls get past parsing."""
    schema = spec.parameters["properties"][name]
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if name == "quote_ids":
        return st.lists(st.sampled_from(IDS_BY_FIELD["quote_id"]), min_size=2, max_size=3)
    if name in IDS_BY_FIELD:
        return st.sampled_from(IDS_BY_FIELD[name])
    if name.endswith("_id"):
        return st.sampled_from(IDS)
    if "date" in name or name == "valid_until" or name.startswith("valid_until"):
        return st.sampled_from(["2026-01-15", "2026-06-30", "2027-01-01", "2025-12-31"])
    if name.startswith(("amount", "value", "probability")):
        return st.sampled_from([0, 1, 10, 50, 100, 2500.5, 10_000_000])
    if name == "email":
        return st.sampled_from(["sales@acme.com", "SALES@ACME.COM", "new@x.org", "other@x.org"])
    if name == "file_name":
        return st.sampled_from(["deck.pptx", "q.pdf", "bad name.exe"])
    if name in ("limit", "offset"):
        return st.integers(min_value=0, max_value=3)
    if name.endswith("url"):
        return st.just("https://example.com/f.pdf")
    return st.one_of(st.sampled_from(["Acme", "Deal", "Kim", "ü 中文"]), SQLISH)


@st.composite
def calls(draw):
    # Mostly real tool names (with everything else being junk, the writes would never run).
    tool = draw(st.sampled_from(TOOL_NAMES) if draw(DIE) < 8 else scalars)
    if tool not in TOOL_NAMES or draw(DIE) == 0:
        junk_keys = st.one_of(st.sampled_from(ARGUMENT_NAMES), st.text(max_size=10))
        return tool, draw(st.one_of(st.dictionaries(junk_keys, values, max_size=6), values))
    spec = get_spec(tool)
    arguments = {}
    for name in spec.argument_names:
        choice = draw(DIE)
        if choice < 6 or (choice < 8 and name in spec.required):
            arguments[name] = draw(plausible(spec, name))  # a sensible value
        elif choice == 9:
            arguments[name] = draw(values)  # junk under a real name
        # else: left out (a missing required argument when it is required)
    if draw(DIE) == 0:
        arguments.update(draw(st.dictionaries(st.text(max_size=8), values, max_size=2)))  # extra fields
    return tool, arguments


def check_invariants(snapshot: dict) -> None:
    ids = {
        entity: {r[ENTITIES[entity].id_field] for r in snapshot[entity.value]} for entity in Entity
    }
    for entity in Entity:
        facts = ENTITIES[entity]
        for record in snapshot[entity.value]:
            assert set(record) == set(facts.field_names)
            facts.model.model_validate(record)  # types, bounds, formats still hold
            for field in facts.fields:
                value = record[field.name]
                if field.enum is not None and value is not None:
                    assert value in {m.value for m in field.enum}
                if field.references is not None and value is not None:
                    assert value in ids[field.references], f"{entity} {field.name} dangles"
            if facts.polymorphic:
                assert record["entity_id"] in ids[Entity(record["entity_type"])], f"{entity} attachment dangles"
    emails = [c["email"].casefold() for c in snapshot["Client"] if c["email"] is not None]
    assert len(emails) == len(set(emails)), "client e-mails are not unique"


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,  # a reproducible suite; the seed space is still explored broadly per example
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(calls(), min_size=1, max_size=6))
def test_random_calls_never_raise_and_keep_the_crm_consistent(sandbox, sequence):
    sandbox.reset(records=SEED)
    for tool, arguments in sequence:
        before = copy.deepcopy(sandbox.snapshot())
        logged = len(sandbox.changes)
        result = sandbox.call(tool, arguments)  # must not raise, whatever came in
        after = sandbox.snapshot()
        if result.ok:
            assert result.error is None
        else:
            assert result.error_type in TOOL_ERROR_KINDS
            assert isinstance(result.error, str) and 0 < len(result.error) < 5000  # bounded, never echoes huge input
            assert after == before, f"failed call {tool!r} changed the CRM"
            assert len(sandbox.changes) == logged
        check_invariants(after)


def _json_safe(value) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_safe(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_json_safe(v) for v in value)
    return value is None or isinstance(value, str | int | bool)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(TOOL_NAMES), st.dictionaries(st.sampled_from(ARGUMENT_NAMES), scalars, max_size=4))
def test_successful_results_are_plain_json(sandbox, tool, arguments):
    sandbox.reset(records=SEED)
    result = sandbox.call(tool, arguments)
    if result.ok:
        assert _json_safe(result.data)


@pytest.mark.parametrize("tool", TOOL_NAMES)
def test_non_object_arguments_are_refused_with_a_hint(sandbox, tool):
    result = sandbox.call(tool, ["not", "an", "object"])
    assert (result.ok, result.error_type) == (False, "validation_error")
    assert "JSON object" in result.error
