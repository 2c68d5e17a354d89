"""Importing the previous tool's files: sound conversations convert, defects are reported, no crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crm_env.cli.main import main
from crm_env.datasets import load
from crm_env.datasets.importer import import_file, import_previous
from crm_env.datasets.lint import lint
from crm_env.datasets.replay import replay

SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "data" / "previous_tool_sample.jsonl"
OPP = "faf5d808-9d05-48bc-be94-55615937a876"
CLIENT = "56a29445-16e7-47af-8074-827147b79416"
SEED = {"seed_data": {"Client": {CLIENT: {"name": "Acme Corporation", "email": "a@acme.com"}},
                      "Opportunity": {OPP: {"name": "Q4 Deal", "client_id": CLIENT, "stage": "Proposal"}}}}


def _conv(cid: str, turns: list[dict]) -> str:
    return json.dumps({"conversation_id": cid, "workflow_category": "General", "complexity_level": "simple",
                       "initial_entities": SEED, "turns": turns})


def _turn(n: int, utterance: str, tool: str, args: dict) -> dict:
    return {"turn_id": n, "user_utterance": utterance, "expected_tool": tool, "expected_args": args,
            "expect_success": True, "expected_response": {"text": f"Done. id={OPP}"}}


SYNTHETIC = [
    _conv("good", [_turn(1, "Find client Acme Corporation", "client_search", {"criteria": {"name": "Acme Corporation"}}),
                   _turn(2, 'Create deal "Upsell" for {{turn_1.client_id}}', "create_new_opportunity",
                         {"name": "Upsell", "client_id": "{{turn_1.client_id}}"})]),
    _conv("slot", [_turn(1, "Find opportunities in stage {stage}", "opportunity_search", {"stage": "Proposal"})]),
    _conv("mustache", [_turn(1, "Create {{opportunity_name}}", "create_new_opportunity",
                             {"name": "{{opportunity_name}}", "client_id": CLIENT})]),
    _conv("upload", [_turn(1, f"Upload deck.pdf to opportunity {OPP}", "upload_document",
                           {"entity_type": "Opportunity", "entity_id": OPP, "file_name": "deck.pdf",
                            "document_url": "https://x.example/deck.pdf"})]),
    _conv("ref", [_turn(1, "Find client Acme Corporation", "client_search", {"name": "Acme Corporation"}),
                  _turn(2, "Quote {{turn_1.quote_id}}", "quote_details", {"quote_id": "{{turn_1.quote_id}}"})]),
    _conv("contradiction", [_turn(1, "Clone opportunity 11111111-2222-4333-8444-555555555555", "clone_opportunity",
                                  {"opportunity_id": OPP})]),
    _conv("unknown-tool", [_turn(1, "Do something", "teleport", {})]),
    "this is not json",
    json.dumps({"conversation_id": "no-turns", "turns": []}),
    json.dumps([1, 2, 3]),
    _conv("bad-seed", [_turn(1, "Find client Acme Corporation", "client_search", {"name": "Acme Corporation"})])
    .replace('"a@acme.com"', '"not-an-email"'),
]


def test_synthetic_defects_are_reported_and_sound_ones_convert() -> None:
    report = import_previous(SYNTHETIC, "synthetic")
    assert report.total == len(SYNTHETIC)
    assert [c.conversation_id for c in report.converted] == ["good"]
    by_conversation: dict[str, set[str]] = {}
    for finding in report.findings:
        if finding.severity == "error":
            by_conversation.setdefault(finding.conversation_id, set()).add(finding.check)
    assert "slot" in by_conversation["slot"]
    assert "slot" in by_conversation["mustache"]
    assert "arguments" in by_conversation["upload"]
    assert "reference" in by_conversation["ref"]
    assert "utterance" in by_conversation["contradiction"]
    assert "tool" in by_conversation["unknown-tool"]
    assert "malformed" in by_conversation["synthetic:8"]
    assert "seed" in by_conversation["bad-seed"]
    assert {f.check for f in report.findings if f.conversation_id == "good"} >= {"criteria", "reply"}
    good = report.converted[0]
    assert good.turns[0].gold_calls[0].arguments == {"name": "Acme Corporation"}
    assert not lint(report.converted)


@pytest.mark.skipif(not SAMPLE.exists(), reason="the previous tool's sample is not in ../shared/data")
def test_previous_tool_sample(tmp_path: Path) -> None:
    report = import_file(SAMPLE)
    assert report.total == 24
    assert 0 < len(report.converted) < report.total
    checks = {f.check for f in report.findings if f.severity == "error"}
    assert {"slot", "arguments", "utterance"} <= checks
    assert replay(report.converted).success_rate == 1.0
    out = tmp_path / "imported.jsonl"
    assert main(["dataset", "import", "--from", "previous", str(SAMPLE), str(out)]) == 0
    assert len(load(out)) == len(report.converted)
    assert (tmp_path / "imported.jsonl.findings.jsonl").read_text().count("\n") == len(report.findings)
    assert main(["dataset", "validate", str(out)]) == 0


def test_cli_generate_and_stats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "g.jsonl.gz"
    assert main(["dataset", "generate", "--seed", "3", "--count", "12", "--out", str(out)]) == 0
    assert len(load(out)) == 12
    assert main(["dataset", "stats", str(out)]) == 0
    assert "write turns" in capsys.readouterr().out
    assert main(["dataset", "validate", "golden"]) == 0
