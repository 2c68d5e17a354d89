"""What the reply checks know of a turn besides the reply (``TurnScope``), built by ``crm_env.rewards.scope``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from crm_env.rewards.claims import ReadReply, read_request
from crm_env.rewards.world import World
from crm_env.schema.enums import Entity


@dataclass
class TurnScope:
    """What the checker knows of the turn besides the reply."""

    world: World
    targets: set[str]  # the records the turn's reference changed or read (agent-side ids)
    answer: set[str] | None  # for a read request listing records: the records of the answer
    answer_entity: Entity | None
    facts: Sequence[tuple[str, Any]]  # (label, value) with references resolved
    utterance: str
    today: str  # the episode clock's date, ISO
    result_values: tuple[set[float], set[str]]  # numbers and dates in this turn's tool results
    expect_success: bool
    work_done: bool  # the turn's work happened as the reference's (state matched; reads succeeded)
    prefix_counts: dict[str, int] | None = None  # for a prefix listing: the prefixes in use and their counts
    named: set[str] = field(default_factory=set)  # the records the reference's calls name by id
    listing: bool = False  # the answer is a search's result list (each record must be named)
    result_keys: frozenset[str] = frozenset()  # the keys of this turn's results, loose ("closed won")
    filters: frozenset[str] = frozenset()  # enum values a read request filters by ("stage": "Negotiation")
    _request: ReadReply | None = field(default=None, repr=False, compare=False)

    def request(self) -> ReadReply:
        """The user's message read with the episode's vocabulary (once per turn)."""
        if self._request is None:
            self._request = read_request(self.utterance, self.world.vocabulary())
        return self._request


def named_in(scope: TurnScope) -> set[str]:
    """The records the request names, read as the reply is (the longest name wins: "Sterling Pilot Program Q1
    Follow-on" does not also name "Sterling Pilot Program Q1")."""
    return {m.value for m in scope.request().of_kind("record")}
