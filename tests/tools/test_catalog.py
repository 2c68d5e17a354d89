"""The tool catalog: declared once, with schemas, descriptions and provider renderings derived."""

from __future__ import annotations

import json

import jsonschema
import pytest

from crm_env.datasets.intents import INTENT_TOOLS
from crm_env.schema.enums import ToolKind
from crm_env.tools import TOOL_NAMES, anthropic_tools, catalog, get_spec, openai_tools, to_text
from crm_env.tools.registry import parse_docstring

SPECS = catalog()


def test_catalog_is_sorted_and_unique():
    names = [s.name for s in SPECS]
    assert names == sorted(set(names)) == list(TOOL_NAMES)


def test_every_customer_intent_has_a_tool():
    assert set(INTENT_TOOLS.values()) <= set(TOOL_NAMES)
    assert len(INTENT_TOOLS) == 28


def test_the_surface_is_complete():
    # Beyond the 28 intents: a get-by-id read for every entity and the searches a CRM user expects.
    for name in ("get_client", "get_contact", "get_contract", "get_company", "get_document", "get_note",
                 "document_search", "note_search", "modify_contract"):
        assert name in TOOL_NAMES


def test_internal_helpers_are_not_agent_tools():
    for name in TOOL_NAMES:
        assert not name.startswith("_")
        assert not any(word in name for word in ("dump", "snapshot", "count", "seed", "reset", "all_records"))


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_spec_is_documented_and_its_schema_is_valid(spec):
    assert spec.kind in (ToolKind.READ, ToolKind.WRITE)
    assert spec.summary and spec.description.startswith(spec.summary)
    params = spec.parameters
    jsonschema.Draft202012Validator.check_schema(params)
    assert params["type"] == "object" and params["additionalProperties"] is False
    assert list(params["properties"]) == list(spec.argument_names) or set(params["properties"]) == set(spec.argument_names)
    assert params["required"] == list(spec.required)
    for name, prop in params["properties"].items():
        assert prop.get("description"), f"{spec.name}.{name} has no description"
        assert "$ref" not in json.dumps(prop) and "title" not in prop  # inlined for LLM providers
        assert "type" in prop, f"{spec.name}.{name} has no type"


def test_kinds_follow_what_tools_do():
    writes = {s.name for s in SPECS if s.kind is ToolKind.WRITE}
    for name in TOOL_NAMES:
        is_write = name.startswith(("create", "modify", "delete", "cancel", "clone", "upload", "add_"))
        assert (name in writes) == is_write, name


def test_enum_arguments_list_their_values():
    stage = get_spec("create_new_opportunity").parameters["properties"]["stage"]
    assert stage["enum"] == ["Prospecting", "Qualification", "Proposal", "Negotiation", "Closed-Won", "Closed-Lost"]
    assert stage["default"] == "Prospecting"
    assert get_spec("upload_document").parameters["properties"]["file_name"]["pattern"].endswith("$")


def test_schema_accepts_what_the_tool_accepts():
    # The schema shown to LLMs and the validation are derived from one declaration: a valid call per
    # the schema must also pass parse(), and an invalid one must fail both.
    spec = get_spec("create_new_opportunity")
    good = {"name": "D", "client_id": "11111111-1111-4111-8111-111111111111", "amount": 5, "probability": 50}
    jsonschema.validate(good, spec.parameters)
    assert spec.parse(good)["probability"] == 50
    bad = {**good, "stage": "won"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, spec.parameters)


def test_openai_rendering():
    tools = openai_tools()
    assert len(tools) == len(SPECS)
    for tool, spec in zip(tools, SPECS, strict=True):
        assert tool["type"] == "function"
        assert set(tool["function"]) == {"name", "description", "parameters"}
        assert tool["function"]["name"] == spec.name and tool["function"]["parameters"] == spec.parameters
    json.dumps(tools)


def test_anthropic_rendering():
    tools = anthropic_tools()
    for tool, spec in zip(tools, SPECS, strict=True):
        assert set(tool) == {"name", "description", "input_schema"}
        assert tool["input_schema"]["type"] == "object" and tool["name"] == spec.name
        assert len(tool["name"]) <= 64 and tool["name"].replace("_", "").isalnum()  # the API's name rule
    json.dumps(tools)


def test_text_rendering_marks_optional_arguments():
    text = to_text(SPECS)
    assert len(text.splitlines()) == len(SPECS)
    assert "- create_new_client(name, email?" in text and "[write]" in text


def test_docstring_parser():
    doc = parse_docstring(
        """Do a thing.

        More words here.

        Args:
            first: The first
                argument, continued.
            second (int): The second.

        Returns:
            something useful.
        """
    )
    assert doc.summary == "Do a thing." and doc.body == "More words here."
    assert doc.args == {"first": "The first argument, continued.", "second": "The second."}
    assert doc.returns == "something useful."


def test_an_undocumented_argument_is_refused_at_declaration():
    from crm_env.tools.registry import tool

    with pytest.raises(TypeError, match="no description"):

        @tool(ToolKind.READ)
        def undocumented_tool(ctx, x: str) -> None:
            """Summary.

            Args:
                y: Not x.
            """
