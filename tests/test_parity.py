"""Differential test: the same trajectory gives the same results and final state on every backend.

Hypothesis draws trajectories of valid and invalid tool calls, with arguments derived from each
tool's JSON schema (so new tools are covered without touching this file) plus deliberately wrong
values: wrong enum casing, unknown or malformed ids, out-of-range numbers, tricky unicode (casefold
cases like 'ß' / 'SS'), SQL-injection-looking text and LIKE wildcards. Each SQL backend runs in
lockstep with the memory store. Ids come from the seeded RNG in the domain layer and timestamps
from the frozen clock, so both already agree; the normalisation below only guards that assumption.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from crm_env import CrmSandbox
from crm_env.schema.facts import ENTITIES, entity_of_id_field
from crm_env.tools import openai_tools

AS_OF = "2026-01-15T09:00:00Z"
C1, C2 = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
O1, O2 = "33333333-3333-4333-8333-333333333333", "44444444-4444-4444-8444-444444444444"
Q1 = "55555555-5555-4555-8555-555555555555"
SEED = {
    "Client": [
        {"client_id": C1, "name": "Straße GmbH", "email": "info@strasse.de", "status": "Active"},
        {"client_id": C2, "name": "acme", "email": "Sales@Acme.com", "industry": "50% off_sales"},
    ],
    "Opportunity": [
        {"opportunity_id": O1, "name": "Renewal", "client_id": C1, "stage": "Negotiation", "amount": 1200.5,
         "probability": 60, "close_date": "2026-03-01"},
        {"opportunity_id": O2, "name": "Closed one", "client_id": C2, "stage": "Closed-Won", "amount": 99.0},
    ],
    "Quote": [{"quote_id": Q1, "opportunity_id": O1, "amount": 1000.0, "status": "Draft", "quote_prefix": "Q-"}],
    "Contract": [{"contract_id": "66666666-6666-4666-8666-666666666666", "client_id": C2, "opportunity_id": O2,
                  "value": 0.0, "status": "Active", "start_date": "2026-01-01"}],
    "Company": [{"company_id": "77777777-7777-4777-8777-777777777777", "name": "Partner Co", "type": "Partner",
                 "contacts": ["Ann", "Bob"]}],
    "Note": [{"note_id": "88888888-8888-4888-8888-888888888888", "entity_type": "Client", "entity_id": C1,
              "content": "likes ǅ and ﬁ ligatures"}],
}

# Text the drivers can carry: PostgreSQL text cannot hold NUL, UTF-8 cannot hold lone surrogates
# (see the SQL backend's report: the domain layer should reject both for every backend).
_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
TRICKY = [
    "Straße", "STRASSE", "strasse", "İstanbul", "ǅ", "ﬁ", "%", "_", "a%b", "\\", "'", '"',
    "'; DROP TABLE crm_client; --", "Robert'); DELETE FROM crm_opportunity;--", "acme", "ACME", " ", "",
]
GOOD_TEXT = st.sampled_from(["Acme", "Deal", "Straße", "STRASSE", "'; DROP TABLE crm_client; --", "100% _off", "Q-"])
TEXT = st.one_of(GOOD_TEXT, GOOD_TEXT, st.sampled_from(TRICKY), st.text(_CHARS, min_size=1, max_size=8))
EMAIL = st.one_of(
    st.sampled_from(["info@strasse.de", "INFO@STRASSE.DE", "sales@acme.com", "new@x.io", "bad-email", "Straße@x.de",
                     "STRASSE@x.de"]),
    st.builds(lambda a: f"{a}@ex.com", st.text(st.characters(whitelist_categories=("Ll", "Lu")), min_size=1, max_size=4)),
)
DATE = st.one_of(
    st.sampled_from(["2026-01-15", "2026-06-30", "2027-01-01"]),
    st.dates().map(lambda d: d.isoformat()), st.sampled_from(["2026-01-15", "2026-02-30", "15/01/2026", "2026-12-31"])
)
NUMBER = st.one_of(
    st.integers(1, 100),
    st.integers(1, 100),
    st.integers(1, 100),
    st.integers(1, 100),
    st.sampled_from([0, -1, 0.5, 50, 100, 150, 10_000_000, 10_000_001, 1e300]),
    st.floats(min_value=-10, max_value=2e7, allow_nan=False),
)


class Ref:
    """An id chosen at run time among the records that exist then (index modulo their number)."""

    def __init__(self, entity: str | None, index: int) -> None:
        self.entity, self.index = entity, index

    def __repr__(self) -> str:
        return f"Ref({self.entity}, {self.index})"


def _id_strategy(name: str) -> st.SearchStrategy:
    entity = entity_of_id_field(name.removesuffix("s"))
    ref = st.builds(Ref, st.just(entity.value if entity else None), st.integers(0, 20))
    wrong = st.sampled_from([str(uuid.UUID(int=7)), "not-a-uuid", "' OR 1=1 --", C1.upper()])
    return st.one_of(ref, ref, ref, ref, ref, ref, wrong)


def _value(name: str, schema: dict[str, Any]) -> st.SearchStrategy:
    if "enum" in schema:
        values = schema["enum"]
        good = st.sampled_from(values)
        return st.one_of(good, good, good, good.map(str.lower), st.just("Won"))
    if schema.get("type") == "array":
        return st.lists(_value(name, schema["items"]), min_size=0, max_size=3)
    fmt = schema.get("format")
    if fmt == "uuid":
        return _id_strategy(name)
    if fmt == "date":
        return DATE
    if fmt == "email" or name == "email":
        return EMAIL
    if fmt == "uri":
        return st.sampled_from(["https://x.io/a", "ftp://nope", "http://ex.com/%27;--"])
    if name == "file_name":
        return st.sampled_from(["a.pdf", "Deck.PPTX", "x.exe", "'; DROP TABLE x;--.pdf", "b.Pdf"])
    if schema.get("type") in ("number", "integer"):
        return NUMBER
    return TEXT


def _call(spec: dict[str, Any]) -> st.SearchStrategy:
    params = spec["parameters"]
    required = set(params.get("required", ()))
    fields = {}
    for name, schema in params["properties"].items():
        value = _value(name, schema)
        fields[name] = value if name in required else st.one_of(st.none(), st.none(), value)
    args = st.fixed_dictionaries(fields).map(lambda d: {k: v for k, v in d.items() if v is not None})
    return st.tuples(st.just(spec["name"]), args)


CALLS = st.one_of([_call(t["function"]) for t in openai_tools()])
# Invalid shapes too: unknown tools and unknown arguments.
ODD = st.sampled_from([("no_such_tool", {}), ("create_new_client", {"name": "X", "colour": "red"})])
TRAJECTORY = st.lists(st.one_of(CALLS, CALLS, CALLS, ODD), min_size=4, max_size=20)


def _resolve(value: Any, snapshot: dict[str, list[dict[str, Any]]]) -> Any:
    if isinstance(value, list):
        return [_resolve(v, snapshot) for v in value]
    if not isinstance(value, Ref):
        return value
    entities = [value.entity] if value.entity else list(snapshot)
    ids = [r[ENTITIES[e].id_field] for e in entities for r in snapshot[e]]  # type: ignore[index]
    return ids[value.index % len(ids)] if ids else str(uuid.UUID(int=value.index + 1))


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def normalise(value: Any) -> Any:
    """Results as JSON text; ids and timestamps would be masked here if the backends generated them."""
    return value


@pytest.fixture
def pair(sql_backend_url: str):
    # The memory store is the reference every SQL backend is compared with.
    boxes = (CrmSandbox("memory", as_of=AS_OF), CrmSandbox(sql_backend_url, as_of=AS_OF))
    yield boxes
    for box in boxes:
        box.close()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(trajectory=TRAJECTORY, seeded=st.booleans())
def test_same_results_and_state_as_memory(pair: tuple[CrmSandbox, CrmSandbox], trajectory, seeded: bool) -> None:
    reference, other = pair
    for box in pair:
        box.reset(records=SEED if seeded else None, seed=7)
    for tool, raw in trajectory:
        arguments = {k: _resolve(v, reference.snapshot()) for k, v in raw.items()}
        expected = reference.call(tool, arguments).to_dict()
        event("write ok" if expected["ok"] and tool.startswith(("create", "modify", "delete", "add", "upload",
                                                                 "clone", "cancel")) else
              "ok" if expected["ok"] else expected.get("error_type", "error"))
        actual = other.call(tool, arguments).to_dict()
        assert normalise(actual) == normalise(expected), (tool, arguments)
    assert other.snapshot() == reference.snapshot()
    assert [c.to_dict() for c in other.changes] == [c.to_dict() for c in reference.changes]
