"""The reference side of a turn: the gold calls replayed on a scratch CRM in the pre-turn state.

A ``GoldReplay`` keeps an in-memory scratch CRM that mirrors the episode: seeded with the same initial
records, then fed the agent's actual changes turn by turn. To judge a turn it runs the turn's gold calls
on the scratch (so they see exactly the state the agent saw), records their results and change log, and
rolls the scratch back. The scratch is always the memory backend: backends agree on behaviour (the
backend parity contract), and the reference side should cost microseconds whatever the agent's backend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from crm_env.sandbox import CrmSandbox, ToolResult
from crm_env.schema.seed import Seed
from crm_env.tools import Change, ChangeOp

_SCRATCH_SEED_SALT = 0x5EED  # keeps the scratch's generated ids apart from the agent's


class _Rollback(Exception):
    pass


@dataclass(frozen=True, slots=True)
class GoldOutcome:
    """What the gold calls of one turn did on the pre-turn state."""

    calls: tuple[tuple[str, dict[str, Any]], ...]
    results: tuple[ToolResult, ...]
    changes: tuple[Change, ...]


class GoldReplay:
    """A scratch CRM mirroring one episode, for replaying gold calls.

    The scratch is built lazily: ``reset`` only remembers the initial records, and the first ``run``
    seeds the scratch and applies the changes recorded so far. An episode whose every turn takes the
    ``exact`` shortcut never builds it.
    """

    def __init__(self) -> None:
        self.sandbox = CrmSandbox("memory")
        self._pending: tuple[Any, Any, int] | None = None
        self._backlog: list[Change] = []

    def reset(self, as_of: datetime | date | str, records: Mapping[str, Any] | Seed, seed: int = 0) -> None:
        self._pending = (as_of, records, seed ^ _SCRATCH_SEED_SALT)
        self._backlog = []

    def _ready(self) -> None:
        if self._pending is not None:
            as_of, records, seed = self._pending
            self._pending = None
            self.sandbox.reset(as_of=as_of, records=records, seed=seed)
        if self._backlog:
            backlog, self._backlog = self._backlog, []
            self._apply(backlog)

    @staticmethod
    def exact(
        gold_calls: Sequence[tuple[str, Mapping[str, Any]]],
        agent_calls: Sequence[tuple[str, Mapping[str, Any], ToolResult]],
        agent_changes: Sequence[Change],
    ) -> GoldOutcome | None:
        """The gold outcome without replaying, when the agent made exactly the gold calls.

        Tools are deterministic functions of the state, the arguments and the frozen clock (up to the
        generated ids, which the state validator ignores), so identical calls on the identical pre-turn
        state have identical results and changes: replaying them would only repeat the work.
        """
        if len(gold_calls) != len(agent_calls):
            return None
        for (tool, arguments), call in zip(gold_calls, agent_calls):
            if tool != call[0] or arguments != call[1]:
                return None
        return GoldOutcome(tuple([(t, dict(a)) for t, a in gold_calls]), tuple([call[2] for call in agent_calls]),
                           tuple(agent_changes))

    def run(self, calls: Sequence[tuple[str, Mapping[str, Any]]]) -> GoldOutcome:
        """Run the calls on the current state, then undo them (the scratch keeps the pre-turn state)."""
        self._ready()
        store = self.sandbox.store
        log = self.sandbox.changes
        mark = len(log)
        results: list[ToolResult] = []
        try:
            with store.atomic():
                for tool, arguments in calls:
                    results.append(self.sandbox.call(tool, arguments))
                changes = tuple(log[mark:])
                raise _Rollback
        except _Rollback:
            pass
        finally:
            del log[mark:]
        return GoldOutcome(tuple((t, dict(a)) for t, a in calls), tuple(results), changes)

    def apply(self, changes: Sequence[Change]) -> None:
        """Bring the scratch up to date with changes the agent made in the real CRM."""
        if self._pending is not None:
            self._backlog.extend(changes)
        else:
            self._apply(changes)

    def _apply(self, changes: Sequence[Change]) -> None:
        store = self.sandbox.store
        for change in changes:
            if change.op is ChangeOp.CREATE:
                store.insert(change.entity, dict(change.after))  # type: ignore[arg-type]
            elif change.op is ChangeOp.UPDATE:
                store.update(change.entity, change.record_id, dict(change.after))  # type: ignore[arg-type]
            else:
                store.delete(change.entity, change.record_id)

    def close(self) -> None:
        self.sandbox.close()
