"""``CrmSandbox``: the CRM without the RL wrapper — call tools, seed, snapshot, reset."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import TracebackType
from typing import Any

from crm_env.backends import Store, open_store
from crm_env.backends.base import Record
from crm_env.errors import ToolError
from crm_env.schema.clock import Clock
from crm_env.schema.seed import EMPTY_SEED, Seed, build_seed
from crm_env.tools import Change, Context, get_spec


@dataclass(frozen=True, slots=True)
class ToolResult:
    """The outcome of one tool call: data on success, an error type and message otherwise."""

    tool: str
    ok: bool
    data: Any = None
    error_type: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.ok:
            return {"tool": self.tool, "ok": True, "data": self.data}
        return {"tool": self.tool, "ok": False, "error_type": self.error_type, "error": self.error}


class CrmSandbox:
    """A CRM on one backend at a frozen clock.

    Args:
        backend: Backend URL: ``memory`` (default), ``sqlite:///path``, ``postgresql+psycopg://...``;
            ``$CRM_ENV_DATABASE_URL`` when None.
        as_of: The episode clock (date, datetime or ISO text); dates are checked against it and
            timestamps taken from it.
        seed: Seeds the id generator, so the same calls create the same ids.
        store: An already open store to use instead of ``backend``.

    Example:
        >>> sandbox = CrmSandbox(as_of="2026-01-15")
        >>> sandbox.call("create_new_client", {"name": "Acme"}).ok
        True
    """

    def __init__(
        self,
        backend: str | None = None,
        *,
        as_of: datetime | date | str | None = None,
        seed: int = 0,
        store: Store | None = None,
    ) -> None:
        self.store = store if store is not None else open_store(backend)
        self._id_seed = seed
        self._seed = EMPTY_SEED
        self.context = Context(self.store, Clock.at(as_of), seed)
        self.store.begin_episode()

    @property
    def clock(self) -> Clock:
        return self.context.clock

    @property
    def changes(self) -> list[Change]:
        """Every change made by tool calls since the last reset, oldest first."""
        return self.context.changes

    def call(self, tool: str, arguments: Mapping[str, Any] | None = None) -> ToolResult:
        """Run one tool call atomically; a refused call changes nothing.

        Tool errors (bad arguments, unknown ids, rule violations, unknown tools) come back as a failed
        ``ToolResult``. Anything else is a bug or an infrastructure failure and is raised.
        """
        name = tool if isinstance(tool, str) else repr(tool)
        changes = self.context.changes
        mark = len(changes)
        try:
            spec = get_spec(tool)
            kwargs = spec.parse({} if arguments is None else arguments)
            with self.store.atomic():
                data = spec.func(self.context, **kwargs)
        except ToolError as exc:
            del changes[mark:]
            return ToolResult(name, False, None, exc.kind, str(exc))
        except BaseException:
            del changes[mark:]
            raise
        return ToolResult(name, True, data)

    def seed(self, records: Mapping[str, Any] | Seed) -> Seed:
        """Replace the CRM's contents with checked initial records and return the ``Seed``.

        Raises:
            SeedError: The records are invalid; the CRM is left empty.
        """
        # Start the new episode first, so that invalid records leave the CRM empty as documented
        # rather than still holding the previous episode's records.
        self._begin()
        self._seed = EMPTY_SEED
        seed = build_seed(records, self.clock)
        self.store.load(seed.records)
        self._seed = seed
        return seed

    def reset(
        self,
        *,
        as_of: datetime | date | str | None = None,
        records: Mapping[str, Any] | Seed | None = None,
        seed: int | None = None,
    ) -> None:
        """Start a fresh episode: empty (or ``records``), change log cleared, ids reseeded.

        Args:
            as_of: A new clock; the current one is kept when None.
            records: Initial records; the CRM starts empty when None.
            seed: A new id seed; the sandbox's seed is reused when None.
        """
        if as_of is not None:
            self.context.clock = Clock.at(as_of)
        if seed is not None:
            self._id_seed = seed
        if records is None:
            self._begin()
            self._seed = EMPTY_SEED
        else:
            self.seed(records)

    def _begin(self) -> None:
        self.store.begin_episode()
        self.context.changes.clear()
        self.context.reseed(self._id_seed)

    def snapshot(self) -> dict[str, list[Record]]:
        """Every record, JSON-able, grouped by record type and sorted by id."""
        return {entity.value: rows for entity, rows in self.store.dump().items()}

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> CrmSandbox:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
