"""Our learning memory and Atlas's ``learning_registry``, both ways (``crm-env atlas export-memory`` /
``import-memory``), so a memory learned natively can seed Atlas sessions and the other way round.

**Export**: the memory's *active* entries become, for each learning key (by default one per workflow family,
``crm_env:WORKFLOW``, the keys ``crm-env atlas run`` uses), a registry row whose ``student_learning`` /
``teacher_learning`` pamphlet lists the instructions for that audience, one per line; the row's metadata
names its source and lists the entries (``crm_env_entries``: id, audience, cue keywords, instruction;
Atlas's own ``playbook_entries`` are left out, so its schema-driven pruning never reads ours). A key that
already holds a row is refused unless ``replace``. Atlas injects the pamphlet into its student's prompt;
our adapter hands it to our student.

**Import**: each pamphlet line of the chosen rows becomes a *candidate* entry (its cue: the record types
and field names it mentions, else those of the key's workflow; narrowed to the record type the key's
workflow names, if any), added with one memory delta each, so our
curator decides on it as on any proposal. A line our entries refuse (over 200 characters) is skipped and
reported; an entry the memory already holds is not added twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from crm_env.datasets.intents import Workflow
from crm_env.errors import ConfigError, InfrastructureError
from crm_env.integrations.atlas.storage import libpq_url
from crm_env.learning.entries import MAX_INSTRUCTION, AddEntry, Cue, Entry, Lifecycle
from crm_env.learning.memory import PlaybookState
from crm_env.learning.teacher import cue_words
from crm_env.rewards.lexicon import ENTITY_NOUNS, FIELD_WORDS

KEY_PREFIX = "crm_env:"
DEFAULT_KEYS = tuple(f"{KEY_PREFIX}{w.value}" for w in Workflow)
_FIELD_PHRASES = {phrase for phrases in FIELD_WORDS.values() for phrase in phrases}


@dataclass
class Imported:
    added: list[str] = field(default_factory=list)  # entry ids
    already: int = 0
    skipped: list[str] = field(default_factory=list)  # why each refused line was refused


def pamphlet(state: PlaybookState, audience: str) -> str | None:
    lines = [f"- {e.instruction}" for e in state.by_status(Lifecycle.ACTIVE) if e.audience == audience]
    return "\n".join(lines) if lines else None


def _connect(url: str) -> Any:
    import psycopg

    try:
        return psycopg.connect(libpq_url(url), connect_timeout=10)
    except psycopg.Error as exc:
        raise InfrastructureError(f"Atlas's database: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}") from None


def export_memory(state: PlaybookState, database_url: str, keys: tuple[str, ...] = DEFAULT_KEYS,
                  replace: bool = False) -> list[str]:
    """Write the memory's active entries to ``learning_registry`` under each key; returns the keys written.

    Raises:
        ConfigError: No active entry, or a key that holds a row (without ``replace``); nothing is written.
        InfrastructureError: The database cannot be reached, or has no Atlas tables (``crm-env atlas init-db``).
    """
    active = state.by_status(Lifecycle.ACTIVE)
    if not active:
        raise ConfigError("the memory has no active entry to export (candidates are not yet trusted)")
    metadata = json.dumps({"source": "crm_env", "memory_version": state.version, "crm_env_entries": [
        {"id": e.id, "audience": e.audience, "keywords": list(e.cue.keywords), "instruction": e.instruction}
        for e in active]})
    import psycopg

    with _connect(database_url) as connection:
        try:
            taken = [row[0] for row in connection.execute(
                "SELECT learning_key FROM learning_registry WHERE learning_key = ANY(%s)", (list(keys),))]
            if taken and not replace:
                raise ConfigError(f"{len(taken)} key(s) already hold Atlas learning state (first: {taken[0]}); "
                                  "pass --replace to overwrite them, or choose other --learning-key")
            for key in keys:
                connection.execute(
                    "INSERT INTO learning_registry(learning_key, student_learning, teacher_learning, metadata, updated_at)"
                    " VALUES (%s, %s, %s, %s::jsonb, NOW()) ON CONFLICT (learning_key) DO UPDATE SET"
                    " student_learning = EXCLUDED.student_learning, teacher_learning = EXCLUDED.teacher_learning,"
                    " metadata = EXCLUDED.metadata, updated_at = NOW()",
                    (key, pamphlet(state, "student"), pamphlet(state, "teacher"), metadata))
        except psycopg.errors.UndefinedTable:
            raise InfrastructureError("Atlas's tables are missing: run `crm-env atlas init-db URL` first") from None
    return list(keys)


def _entry(line: str, audience: str, key: str) -> Entry:
    text = line.strip().removeprefix("- ").strip()
    if len(text) > MAX_INSTRUCTION:
        raise ValueError(f"{len(text)} characters, over {MAX_INSTRUCTION}")
    scope = cue_words(key.removeprefix(KEY_PREFIX))
    words = cue_words(text)
    if not any(w in ENTITY_NOUNS or w in _FIELD_PHRASES for w in words):  # nothing to cue on in the line itself
        words = scope
    return Entry(audience=audience, cue=Cue(keywords=words, entities=tuple(w for w in scope if w in ENTITY_NOUNS)),
                 instruction=text, expected_effect="what the Atlas session that learned it saw",  # type: ignore[arg-type]
                 rationale=f"imported from Atlas {key}")


def import_changes(state: PlaybookState, database_url: str, keys: tuple[str, ...] | None = None) -> tuple[list[AddEntry], Imported]:
    """The changes that add the chosen rows' pamphlet lines to the memory ``state`` (see the module docstring).

    Raises:
        InfrastructureError: The database cannot be reached, or has no Atlas tables.
    """
    import psycopg

    with _connect(database_url) as connection:
        try:
            rows = connection.execute(
                "SELECT learning_key, student_learning, teacher_learning FROM learning_registry"
                + (" WHERE learning_key = ANY(%s)" if keys else "") + " ORDER BY learning_key",
                (list(keys),) if keys else None).fetchall()
        except psycopg.errors.UndefinedTable:
            raise InfrastructureError("Atlas's tables are missing: this database holds no Atlas learning state") from None
    report, changes, seen = Imported(), [], set(state.entries)
    for key, student, teacher in rows:
        for audience, text in (("student", student), ("teacher", teacher)):
            for line in (text or "").splitlines():
                if not line.strip():
                    continue
                try:
                    entry = _entry(line, audience, key)
                except ValueError as exc:
                    report.skipped.append(f"{key}: {line.strip()[:60]!r}: {str(exc).splitlines()[0][:120]}")
                    continue
                if entry.id in seen:
                    report.already += 1
                    continue
                seen.add(entry.id)
                changes.append(AddEntry(entry=entry, reason=f"imported from Atlas learning_registry {key}"))
                report.added.append(entry.id)
    return changes, report
