"""Lint: the checks a conversation must pass before it may be used for evaluation or training.

Static checks read the conversation; dynamic checks replay it on a memory sandbox and look at the
state each gold call meets.

- ``slot``: no unfilled template slot (``{stage}``, ``{{opportunity_name}}``) in utterances or arguments.
- ``reference``: every ``{{turn_N.field}}`` points at an earlier turn that succeeds, and resolves.
- ``utterance``: every argument value is said in the utterance (ids: said literally, named through
  the seeded record's name, or a reference); every id or reference the utterance names is used.
- ``id_exists``: every id a call uses exists when the call runs (except where the turn is a refusal
  because of that id).
- ``facts``: reply facts are derivable from the turn's results (or, for a refusal, from the request
  and the error) and are never ids or timestamps.
- ``no_change``: a write turn that must succeed changes the CRM (its net change log is not empty): a
  request to set a field to the value it holds would let an agent that does nothing pass.
- plus the replay checks (``replay``, ``negative``, ``seed``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from crm_env.datasets.findings import Finding
from crm_env.datasets.format import REFERENCE, Conversation, FailureCategory, Turn
from crm_env.datasets.replay import play
from crm_env.rewards.state import net_changes
from crm_env.sandbox import CrmSandbox, ToolResult
from crm_env.schema.enums import Entity
from crm_env.schema.facts import ENTITIES, entity_of_id_field
from crm_env.tools import Change

UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_SLOTS = (
    re.compile(r"\{\{(?!turn_\d+\.[A-Za-z_]\w*\}\})[^{}]*\}\}"),
    re.compile(r"(?<!\{)\{[A-Za-z_][A-Za-z0-9_ ]*\}(?!\})"),
)
_ID_EXEMPT = {FailureCategory.UNKNOWN_ID, FailureCategory.MALFORMED_ID}
_LABEL_FIELDS = {Entity.CLIENT: ("name",), Entity.OPPORTUNITY: ("name",), Entity.COMPANY: ("name",),
                 Entity.CONTACT: ("first_name", "last_name")}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def unfilled_slots(text: str) -> list[str]:
    return [m.group(0) for pattern in _SLOTS for m in pattern.finditer(text)]


def _labels(conversation: Conversation) -> dict[str, str]:
    """Seeded record id → the name the user would use for it."""
    out = {}
    for name, rows in conversation.initial_records.items():
        try:
            entity = Entity(name)
        except ValueError:
            continue
        fields = _LABEL_FIELDS.get(entity)
        if fields is None:
            continue
        id_field = ENTITIES[entity].id_field
        for row in rows:
            if isinstance(row, dict) and all(isinstance(row.get(f), str) for f in fields):
                out[str(row.get(id_field, "")).lower()] = " ".join(row[f] for f in fields)
    return out


def _said(value: Any, text: str) -> bool:
    folded = text.casefold()
    if isinstance(value, bool):
        return True
    if isinstance(value, int | float):
        forms = {repr(value), str(value)}
        if float(value).is_integer():
            forms |= {str(int(value)), f"{int(value):,}"}
        return any(form in text for form in forms)
    if isinstance(value, str):
        return value.casefold() in folded
    return True


def _is_id_arg(name: str) -> bool:
    return name.endswith("_id") or name.endswith("_ids")


def _check_value(name: str, value: Any, text: str, labels: dict[str, str]) -> str | None:
    if isinstance(value, list):
        for item in value:
            problem = _check_value(name, item, text, labels)
            if problem:
                return problem
        return None
    if isinstance(value, str) and REFERENCE.fullmatch(value):
        return None
    if _is_id_arg(name) and isinstance(value, str):
        if value.casefold() in text.casefold():
            return None
        label = labels.get(value.lower())
        if label is not None and label.casefold() in text.casefold():
            return None
        return f"{name}={value!r} is neither said, nor a reference, nor a seeded record named in the utterance"
    if name == "entity_type":
        return None  # implied by the record the user names; the call checks they agree
    if not _said(value, text):
        return f"{name}={value!r} is never said in the utterance"
    return None


def static_findings(conversation: Conversation) -> list[Finding]:
    cid = conversation.conversation_id
    out: list[Finding] = []
    labels = _labels(conversation)
    outcome = {t.turn_id: t.expect_success for t in conversation.turns}

    def add(turn: Turn, check: str, message: str) -> None:
        out.append(Finding(conversation_id=cid, turn_id=turn.turn_id, check=check, message=message))

    for turn in conversation.turns:
        args = [c.arguments for c in turn.gold_calls]
        for text in [turn.utterance, *_strings(args)]:
            for slot in unfilled_slots(text):
                add(turn, "slot", f"unfilled slot {slot} in {text[:80]!r}")
        for ref_turn, ref_field in REFERENCE.findall(turn.utterance) + [
            (m.group(1), m.group(2)) for s in _strings(args) for m in REFERENCE.finditer(s)
        ]:
            if not outcome.get(int(ref_turn), False):
                add(turn, "reference", f"{{{{turn_{ref_turn}.{ref_field}}}}} points at a turn that produces nothing")
        if not (turn.failure_category is FailureCategory.MISSING_FIELD):
            for call in turn.gold_calls:
                for name, value in call.arguments.items():
                    problem = _check_value(name, value, turn.utterance, labels)
                    if problem:
                        add(turn, "utterance", f"{call.tool}: {problem}")
        used = {s.casefold() for s in _strings(args)}
        for found in UUID.findall(turn.utterance) + [m.group(0) for m in REFERENCE.finditer(turn.utterance)]:
            if found.casefold() not in used:
                add(turn, "utterance", f"the utterance names {found} but no gold call uses it")
        for item in turn.reply_facts:
            if isinstance(item.value, str) and (UUID.search(item.value) or TIMESTAMP.search(item.value)):
                if not (not turn.expect_success and turn.failure_category in _ID_EXEMPT):
                    add(turn, "facts", f"reply fact {item.label}={item.value!r} is an id or timestamp that cannot recur")
    return out


def _ids_used(tool: str, args: dict[str, Any]) -> list[tuple[Entity, str]]:
    out = []
    for name, value in args.items():
        if name == "entity_id":
            try:
                entity = Entity(args.get("entity_type"))
            except ValueError:
                continue
        elif name == "quote_ids":
            entity = Entity.QUOTE
        else:
            entity = entity_of_id_field(name) if name.endswith("_id") else None
        if entity is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                out.append((entity, item))
    return out


def _before_call(conv: Conversation, turn: Turn, tool: str, args: dict[str, Any], box: CrmSandbox) -> list[Finding]:
    if turn.failure_category in _ID_EXEMPT:
        return []
    return [
        Finding(conversation_id=conv.conversation_id, turn_id=turn.turn_id, check="id_exists",
                message=f"{tool}: {entity.value} {record_id!r} does not exist when the call runs")
        for entity, record_id in _ids_used(tool, args)
        if box.store.get(entity, record_id.lower()) is None
    ]


def _values(data: Any, out: set[Any]) -> set[Any]:
    if isinstance(data, dict):
        for key, value in data.items():
            out.add(_norm(key))
            _values(value, out)
    elif isinstance(data, list):
        out.add(float(len(data)))
        for value in data:
            _values(value, out)
    elif data is not None and not isinstance(data, bool):
        out.add(_norm(data))
    return out


def _norm(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return round(float(value), 2)
    return str(value).casefold()


def _after_turn(conv: Conversation, turn: Turn, results: list[ToolResult], box: CrmSandbox) -> list[Finding]:
    if turn.expect_success:
        if not all(r.ok for r in results):
            return []
        known = _values([r.data for r in results], set())
    else:
        known = _values([c.arguments for c in turn.gold_calls], set())
        text = " ".join(r.error or "" for r in results).casefold()
    out = []
    for item in turn.reply_facts:
        value = _norm(item.value)
        if value in known or (not turn.expect_success and isinstance(value, str) and value in text):
            continue
        out.append(Finding(conversation_id=conv.conversation_id, turn_id=turn.turn_id, check="facts",
                           message=f"reply fact {item.label}={item.value!r} is not derivable from the turn's outcome"))
    return out


def _no_change(conv: Conversation, turn: Turn, results: list[ToolResult], changes: list[Change]) -> list[Finding]:
    if not (turn.expect_success and turn.is_write and all(r.ok for r in results)) or net_changes(changes):
        return []
    tools = ", ".join(c.tool for c in turn.gold_calls)
    return [Finding(conversation_id=conv.conversation_id, turn_id=turn.turn_id, check="no_change",
                    message=f"the gold write ({tools}) leaves the CRM as it was (e.g. a field set to the value it "
                            "holds): an agent doing nothing would pass; ask for a real change")]


def lint(conversations: Iterable[Conversation]) -> list[Finding]:
    """Every finding on the conversations (an empty list means they pass)."""
    box = CrmSandbox("memory")
    findings: list[Finding] = []
    marks: dict[int, int] = {}  # turn id -> length of the change log before its first gold call

    def before_call(conv: Conversation, turn: Turn, tool: str, args: dict[str, Any], box: CrmSandbox) -> list[Finding]:
        marks.setdefault(turn.turn_id, len(box.changes))
        return _before_call(conv, turn, tool, args, box)

    def after_turn(conv: Conversation, turn: Turn, results: list[ToolResult], box: CrmSandbox) -> list[Finding]:
        changes = box.changes[marks.pop(turn.turn_id, len(box.changes)):]
        return _after_turn(conv, turn, results, box) + _no_change(conv, turn, results, changes)

    try:
        for conversation in conversations:
            findings.extend(static_findings(conversation))
            marks.clear()
            _, dynamic = play(conversation, box, strict=True, before_call=before_call, after_turn=after_turn)
            findings.extend(dynamic)
    finally:
        box.close()
    return findings
