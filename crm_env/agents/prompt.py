"""The one prompt builder shared by the LLM agents.

Its inputs are the schema facts (every enum value, complete), the customer's task frequencies and the
derived tool specs. It never sees a conversation's reference data: no gold calls, expected replies or
expected outcomes reach a prompt.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache

from crm_env.datasets.intents import INTENT_COUNTS
from crm_env.schema.facts import ENTITIES
from crm_env.tools import catalog, to_text

PLAYBOOK_OPEN, PLAYBOOK_CLOSE = "<playbook>", "</playbook>"
PLAYBOOK_HEAD = "Guidance learned from earlier work; follow it where it applies to this request:"
ACTION_FORMAT = (
    'To call a tool, answer with JSON only: {"tool": "<name>", "arguments": {...}}. '
    'To reply to the user and end your turn, answer with JSON only: {"respond": "<your reply>"}.'
)


def schema_summary() -> str:
    """Every entity with its fields, required marks, references and complete enum values."""
    lines = []
    for facts in ENTITIES.values():
        parts = []
        for field in facts.fields:
            text = field.name + ("*" if field.required else "")
            if field.enum is not None:
                text += " (" + " | ".join(e.value for e in field.enum) + ")"
            elif field.references is not None:
                text += f" → {field.references.value}"
            elif field.format in ("date", "date-time"):
                text += f" ({field.format})"
            parts.append(text)
        lines.append(f"- {facts.entity.value}: {', '.join(parts)}")
    return "\n".join(lines)


def task_frequencies() -> str:
    """The customer's task mix, most frequent first, as shares of all observed tasks."""
    total = sum(INTENT_COUNTS.values())
    ranked = sorted(INTENT_COUNTS.items(), key=lambda item: -item[1])
    return ", ".join(f"{intent.value.lower()} {100 * count / total:.2f}%" for intent, count in ranked)


@cache
def system_prompt(*, native_tools: bool = True) -> str:
    """The system prompt. With ``native_tools`` the provider receives the tool definitions separately;
    otherwise (servers without tool calling) they are spelled out here with the JSON action format."""
    sections = [
        "You are a careful CRM operations assistant. You carry out the user's requests by calling the CRM "
        "tools, then reply to the user. Use only ids that you were given or that tools returned; never "
        "invent ids. Enum values are exact and case-sensitive. If a request cannot be carried out (an "
        "invalid value, an unknown record, a rule the CRM enforces), do not force it: tell the user what "
        "is wrong and how it could be fixed. When you reply, state the key facts (names, amounts, "
        "counts, statuses, dates) of what you did or found.",
        "CRM schema (* = required):\n" + schema_summary(),
        "How often users ask for each task: " + task_frequencies() + ".",
    ]
    if not native_tools:
        sections.append("Tools:\n" + to_text(catalog()))
        sections.append(
            "Tool argument schemas:\n"
            + "\n".join(f"{s.name}: {json.dumps(s.parameters, separators=(',', ':'))}" for s in catalog())
        )
        sections.append(ACTION_FORMAT)
    return "\n\n".join(sections)


def with_playbook(user_message: str, instructions: Sequence[str]) -> str:
    """The user's message, preceded by the injected playbook entries in a delimited section (none: as is)."""
    if not instructions:
        return user_message
    lines = "\n".join(f"- {' '.join(str(i).split())}" for i in instructions)
    return f"{PLAYBOOK_OPEN}\n{PLAYBOOK_HEAD}\n{lines}\n{PLAYBOOK_CLOSE}\n\n{user_message}"
