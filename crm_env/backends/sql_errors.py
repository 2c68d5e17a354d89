"""Turning driver errors into the package's errors.

The domain layer checks everything before it writes, so a constraint firing means a caller bypassed
it (or raced it). The message is then rebuilt by the same domain code the memory backend's callers
hit (``Context.require`` for a missing parent, ``check_client_email`` for a duplicate e-mail), so
both backends say the same words. A lost connection, an admin shutdown, a lock or statement timeout
or a serialization failure is an ``InfrastructureError``: the episode's transaction is gone or
unusable, and that is never the agent's fault.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import sqlalchemy.exc as sa_exc

from crm_env.errors import ConflictError, CrmEnvError, InfrastructureError, ValidationError
from crm_env.schema.clock import Clock
from crm_env.schema.enums import Entity
from crm_env.schema.facts import ENTITIES

if TYPE_CHECKING:
    from crm_env.backends.sql import SqlStore

# SQLSTATE classes / codes that mean "the connection or transaction is unusable, try again later".
_INFRA_SQLSTATES = ("08", "57", "53", "58", "40001", "40P01", "55P03", "57014", "25P02")
_CHECK_NAME = re.compile(r"ck_crm_[a-z]+_([a-z_]+)_\d+")


def sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) or getattr(getattr(orig, "diag", None), "sqlstate", None)


def is_infrastructure(exc: BaseException) -> bool:
    """Whether a SQLAlchemy error means the connection or transaction cannot go on."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, (sa_exc.PendingRollbackError, sa_exc.ResourceClosedError, sa_exc.InterfaceError)):
        return True
    state = sqlstate(exc)
    if state is not None:
        return state.startswith(_INFRA_SQLSTATES)
    # SQLite: "database is locked", "disk I/O error" and the like are OperationalErrors.
    return isinstance(exc, sa_exc.OperationalError)


def infrastructure(exc: BaseException) -> InfrastructureError:
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0] if str(exc) else type(exc).__name__
    return InfrastructureError(f"the database connection failed during the episode ({reason}); start a new episode")


def bad_text(exc: BaseException) -> bool:
    """Text the driver cannot send: NUL characters (PostgreSQL) or unpaired surrogates (UTF-8)."""
    orig = getattr(exc, "orig", None)
    if isinstance(orig, UnicodeError) or isinstance(exc, UnicodeError):
        return True
    return "NUL" in str(orig or "")


def bad_text_error() -> ValidationError:
    return ValidationError(
        "text values must not contain NUL characters or unpaired surrogates; remove them and try again"
    )


def diagnose(store: SqlStore, entity: Entity, record: dict[str, Any], exc: BaseException, *, new: bool) -> CrmEnvError:
    """The domain error a rejected write stands for; runs after the write's savepoint rolled back."""
    from crm_env.tools.context import Context
    from crm_env.tools.rules import check_client_email

    facts = ENTITIES[entity]
    record_id = record.get(facts.id_field)
    if new and isinstance(record_id, str) and store.get(entity, record_id) is not None:
        return ConflictError(
            f"A {entity.value.lower()} with {facts.id_field}={record_id!r} already exists; use a new id "
            "or update the existing record."
        )
    ctx = Context(store, Clock.at(None))
    try:
        for fact in facts.fields:
            value = record.get(fact.name)
            if fact.references is not None and isinstance(value, str):
                ctx.require(fact.references, value, fact.name)
        if entity is Entity.CLIENT and isinstance(record.get("email"), str):
            check_client_email(ctx, record["email"], exclude_id=record_id)
    except CrmEnvError as error:
        return error
    match = _CHECK_NAME.search(str(getattr(exc, "orig", exc)))
    if match and match.group(1) in facts.field_names:
        field = match.group(1)
        return ValidationError(
            f"{entity.value} {field}={record.get(field)!r} is not allowed by the schema; "
            "check the allowed values and formats in the tool description."
        )
    return ValidationError(f"{entity.value} {record_id!r} was rejected by the database: {_first_line(exc)}")


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__
