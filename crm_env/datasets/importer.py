"""Importing the previous tool's conversation JSONL: convert what is sound, report what is not.

The previous format (one object per line) has ``conversation_id``, ``workflow_category``,
``complexity_level``, ``initial_entities.seed_data`` (records keyed by id) and turns with
``user_utterance``, ``expected_tool``, ``expected_args``, ``expect_success``, ``failure_category``
and an ``expected_response`` whose text cites ids and timestamps.

Repairs that keep the meaning are applied and reported as ``fixed`` findings: search ``criteria``
dicts flattened into our filters, workflow and complexity labels recomputed from the turns, reply
texts dropped. Anything else is an ``error`` and keeps the conversation out: unfilled slots,
references that cannot resolve, arguments our schema rejects (e.g. ``document_url`` on uploads),
utterances that do not carry (or contradict) the gold call's values, tools we do not have, invalid
seed records. The importer never raises on bad input.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from crm_env.datasets.findings import Finding
from crm_env.datasets.format import REFERENCE, Complexity, Conversation, FailureCategory, GoldCall, Turn
from crm_env.datasets.intents import INTENT_TOOLS, INTENT_WORKFLOWS, TaskIntent, Workflow
from crm_env.datasets.lint import _strings, lint, unfilled_slots
from crm_env.errors import CrmEnvError
from crm_env.schema.clock import DEFAULT_AS_OF
from crm_env.tools import get_spec

_TOOL_INTENTS = {tool: intent for intent, tool in INTENT_TOOLS.items()}
_PLACEHOLDER_ID = "00000000-0000-4000-8000-000000000000"
_FAILURES = {c.value: c for c in FailureCategory}


@dataclass
class ImportReport:
    """The converted conversations and every finding, by conversation."""

    converted: list[Conversation] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    total: int = 0

    @property
    def rejected(self) -> int:
        return self.total - len(self.converted)


class _Reject(Exception):
    pass


def _complexity(turns: int) -> Complexity:
    return Complexity.SIMPLE if turns <= 3 else Complexity.MEDIUM if turns <= 6 else Complexity.COMPLEX


def _without_refs(value: Any) -> Any:
    """Arguments with references replaced by a well-formed id, so the schema check sees the rest."""
    if isinstance(value, str):
        return _PLACEHOLDER_ID if REFERENCE.fullmatch(value) else value
    if isinstance(value, dict):
        return {k: _without_refs(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_refs(v) for v in value]
    return value


def _records(seed_data: Any) -> dict[str, list[dict[str, Any]]]:
    if not isinstance(seed_data, dict):
        return {}
    out: dict[str, list[dict[str, Any]]] = {}
    for entity, rows in seed_data.items():
        if isinstance(rows, dict):
            rows = [{**fields, "__id__": key} for key, fields in rows.items() if isinstance(fields, dict)]
        if not isinstance(rows, list) or not rows:
            continue
        id_field = f"{entity.lower()}_id"
        out[entity] = [{(id_field if k == "__id__" else k): v for k, v in r.items()} for r in rows if isinstance(r, dict)]
    return out


def convert(raw: Any, findings: list[Finding]) -> Conversation | None:
    """One previous-tool conversation in our format, or None (with findings saying why)."""
    cid = str(raw.get("conversation_id", "?")) if isinstance(raw, dict) else "?"
    errors_before = sum(f.severity == "error" for f in findings)

    def note(turn: int, check: str, message: str, severity: str = "error") -> None:
        findings.append(Finding(conversation_id=cid, turn_id=turn, check=check, message=message, severity=severity))

    if not isinstance(raw, dict) or not isinstance(raw.get("turns"), list) or not raw["turns"]:
        note(0, "malformed", "not a conversation object with a non-empty list of turns")
        return None
    turns: list[Turn] = []
    for position, t in enumerate(raw["turns"], start=1):
        if not isinstance(t, dict):
            note(position, "malformed", "turn is not an object")
            continue
        utterance = str(t.get("user_utterance") or "")
        tool = t.get("expected_tool")
        args = t.get("expected_args") if isinstance(t.get("expected_args"), dict) else {}
        slots = {slot for text in [utterance, *_strings(args)] for slot in unfilled_slots(text)}
        for slot in sorted(slots):
            note(position, "slot", f"unfilled slot {slot}")
        if isinstance(args.get("criteria"), dict):
            criteria = args.pop("criteria")
            args = {**criteria, **args}
            note(position, "criteria", f"criteria {sorted(criteria)} flattened into filters", "fixed")
        intent = _TOOL_INTENTS.get(tool) if isinstance(tool, str) else None
        try:
            spec = get_spec(tool) if isinstance(tool, str) else None
        except CrmEnvError:
            spec = None
        if spec is None or intent is None:
            note(position, "tool", f"expected_tool {tool!r} is not a tool of a task intent")
            continue
        try:
            spec.parse(_without_refs(args))
        except CrmEnvError as exc:
            note(position, "arguments", str(exc))
        for ref_turn, _ in REFERENCE.findall(json.dumps(args) + utterance):
            if int(ref_turn) >= position:
                note(position, "reference", f"refers to turn {ref_turn}, which has not happened yet")
        success = t.get("expect_success", True) is not False
        category = _FAILURES.get(str(t.get("failure_category")))
        if not success and category is None:
            note(position, "negative", f"negative turn with unknown failure_category {t.get('failure_category')!r}")
        if t.get("expected_response"):
            note(position, "reply", "expected_response dropped (its text cites ids and timestamps)", "fixed")
        try:
            turns.append(Turn(
                turn_id=position, intent=intent, utterance=utterance or "(empty)",
                gold_calls=[GoldCall(tool=tool, arguments=args)], expect_success=success,
                expected_error=None if success else "validation_error",
                failure_category=None if success else (category or FailureCategory.MISSING_FIELD),
            ))
        except PydanticValidationError as exc:
            note(position, "malformed", exc.errors()[0]["msg"])
    if sum(f.severity == "error" for f in findings) > errors_before:
        return None
    complexity = _complexity(len(turns))
    if raw.get("complexity_level") != complexity.value:
        note(0, "complexity", f"complexity {raw.get('complexity_level')!r} relabelled {complexity.value!r} "
                              f"({len(turns)} turns)", "fixed")
    workflow = INTENT_WORKFLOWS[turns[0].intent]
    if raw.get("workflow_category") != workflow.value:
        note(0, "workflow", f"workflow {raw.get('workflow_category')!r} relabelled {workflow.value!r}", "fixed")
    try:
        conversation = Conversation(
            conversation_id=cid, workflow=Workflow(workflow), complexity=complexity, as_of=DEFAULT_AS_OF,
            initial_records=_records((raw.get("initial_entities") or {}).get("seed_data")), turns=turns,
        )
    except PydanticValidationError as exc:
        note(0, "malformed", exc.errors()[0]["msg"])
        return None
    problems = lint([conversation])
    for f in problems:
        findings.append(f)
    return None if problems else conversation


def import_previous(lines: Iterable[str], source: str = "input") -> ImportReport:
    """Convert the previous tool's JSONL lines; never raises on bad content."""
    report = ImportReport()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        report.total += 1
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            report.findings.append(Finding(conversation_id=f"{source}:{number}", check="malformed",
                                           message=f"not JSON: {exc.msg}"))
            continue
        try:
            conversation = convert(raw, report.findings)
        except (CrmEnvError, PydanticValidationError, ValueError, TypeError, KeyError, AttributeError) as exc:
            cid = raw.get("conversation_id", f"{source}:{number}") if isinstance(raw, dict) else f"{source}:{number}"
            report.findings.append(Finding(conversation_id=str(cid), check="malformed", message=f"{type(exc).__name__}: {exc}"))
            continue
        if conversation is not None:
            report.converted.append(conversation)
    return report


def import_file(path: str | Path) -> ImportReport:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        report = ImportReport(total=1)
        report.findings.append(Finding(conversation_id=str(path), check="malformed", message=f"cannot read: {exc}"))
        return report
    return import_previous(text.splitlines(), path.name)


__all__ = ["ImportReport", "TaskIntent", "convert", "import_file", "import_previous"]
