"""The portable JSON snapshot of a SQL database (``crm-env db snapshot`` / ``restore``; the learning
bundle carries one per learning run).

``{"format": "crm_env.snapshot/1", "records": {record type: [records]}, "learning_memories": {name:
[deltas]}}``: the committed CRM records, and every delta of each learning memory the database holds (the
key is left out when it holds none), so one file restores what the database held, exactly, on any backend.
A plain seed file (record type -> records) reads as a snapshot without memories.
"""

from __future__ import annotations

import json
from typing import Any

from crm_env.errors import ConfigError

SNAPSHOT_FORMAT = "crm_env.snapshot/1"


def document(records: dict[str, list[dict[str, Any]]], memories: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """A snapshot of these records and learning memories."""
    doc: dict[str, Any] = {"format": SNAPSHOT_FORMAT, "records": records}
    if memories:
        doc["learning_memories"] = memories
    return doc


def dumps(doc: dict[str, Any]) -> str:
    """A snapshot's text (one layout for every writer)."""
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def parse(data: Any) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """(records, learning memories) of a snapshot or a plain seed file.

    Raises:
        ConfigError: Neither a snapshot nor a seed file.
    """
    if not isinstance(data, dict):
        raise ConfigError("a snapshot or seed file is a JSON object (record type -> records)")
    if data.get("format") != SNAPSHOT_FORMAT:
        return data, {}
    memories = data.get("learning_memories", {})
    if not isinstance(memories, dict) or not all(isinstance(v, list) for v in memories.values()):
        raise ConfigError('a snapshot\'s "learning_memories" maps memory names to lists of deltas')
    return data.get("records", {}), memories
