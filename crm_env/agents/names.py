"""The records an offline agent may name in a reply, and how it names them.

An agent may name a record it has seen in a tool result during the episode (a search hit, a record it
created or changed, a client shown in a details view), or a record of the starting CRM that the user
names (by name or id) in the current request. Nothing else: a name the agent never saw or heard would
be invented.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def own_id(record: Mapping[str, Any]) -> str | None:
    """A record's id: results and seeds list a record's own id field first (``quote_id`` of a quote)."""
    for key, value in record.items():
        return value if key.endswith("_id") and isinstance(value, str) else None
    return None


def display_name(record: Mapping[str, Any]) -> str | None:
    """How people name a record: its name, a contact's full name, a document's file name; else None."""
    name = record.get("name")
    if isinstance(name, str) and name:
        return name
    first, last = record.get("first_name"), record.get("last_name")
    if isinstance(first, str) and isinstance(last, str):
        return f"{first} {last}"
    file_name = record.get("file_name")
    return file_name if isinstance(file_name, str) else None


class NameBook:
    """What one agent knows about record names in the current episode.

    Args:
        initial_records: The starting CRM (entity → records); its names count only once the user
            says them (``begin_turn``).
    """

    __slots__ = ("_known", "_seen", "_utterance")

    def __init__(self, initial_records: Mapping[str, Iterable[Mapping[str, Any]]] | None = None) -> None:
        self._known: dict[str, Mapping[str, Any]] = {}
        for records in (initial_records or {}).values():
            for record in records:
                record_id = own_id(record)
                if record_id:
                    self._known[record_id] = record
        self._seen: dict[str, Mapping[str, Any]] = {}
        self._utterance = ""

    def begin_turn(self, utterance: str) -> None:
        """The user's current request (its words decide which starting records count as named)."""
        self._utterance = utterance.casefold()

    def learn(self, data: Any, depth: int = 0) -> None:
        """Remember every record in a successful tool result (nested one or two levels deep)."""
        if isinstance(data, Mapping):
            record_id = own_id(data)
            if record_id:
                self._seen[record_id] = data
            if depth < 2:
                for value in data.values():
                    if isinstance(value, Mapping | list):
                        self.learn(value, depth + 1)
        elif isinstance(data, list) and depth < 3:
            for item in data:
                if isinstance(item, Mapping):
                    self.learn(item, depth + 1)

    def record(self, record_id: Any) -> Mapping[str, Any] | None:
        """The record, if the agent has seen it or the user named it in this request."""
        if not isinstance(record_id, str):
            return None
        seen = self._seen.get(record_id)
        if seen is not None:
            return seen
        known = self._known.get(record_id)
        if known is not None:
            name = display_name(known)
            if record_id in self._utterance or (name and name.casefold() in self._utterance):
                return known
        return None

    def name_of(self, record_id: Any) -> str | None:
        """The record's display name, if the agent may use it."""
        record = self.record(record_id)
        return display_name(record) if record is not None else None
