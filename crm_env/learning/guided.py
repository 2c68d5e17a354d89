"""A student with a frozen playbook: the frozen evaluation and its controls (``crm_env.learning.protocol``).

Before the first action of each turn, the entries whose cue matches the user's request are retrieved from
a fixed memory (the learning loop's ``Retriever``, active entries, within the token budget) and handed to
the student (``guide``); nothing is withheld and nothing is learned. To the evaluation harness it is an
ordinary agent, so a frozen run is resumable, concurrent and reported like any other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crm_env.agents.base import Agent, LlmCall, Observation
from crm_env.learning.entries import Entry, Lifecycle
from crm_env.learning.memory import PlaybookState
from crm_env.learning.retrieval import DEFAULT_BUDGET_TOKENS, Retriever
from crm_env.learning.teacher import placebo_instruction


def retrieved(retriever: Retriever, budget_tokens: int = DEFAULT_BUDGET_TOKENS) -> Callable[[str], list[str]]:
    """The instructions of the entries ``retriever`` selects for a request, each once."""
    return lambda request: list(dict.fromkeys(e.instruction for e in retriever.select(request, budget_tokens).injected))


class PlaybookAgent:
    """``inner`` guided, before each turn, by ``instructions(request)`` (see the module docstring; the Atlas
    adapter hands a session's playbook the same way: ``crm_env.integrations.atlas.session``)."""

    def __init__(self, inner: Agent, instructions: Callable[[str], list[str]]) -> None:
        self.inner = inner
        self.name = inner.name
        self.simulated = inner.simulated
        self.instructions = instructions
        self._turn: Any = None

    def reset(self, conversation_id: str | None = None) -> None:
        self.inner.reset(conversation_id)
        self._turn = None

    def _prepare(self, observation: Observation) -> None:
        turn = observation.get("turn")
        if turn != self._turn:
            self._turn = turn
            self.inner.guide(self.instructions(str(observation.get("user_message", ""))))  # type: ignore[attr-defined]

    def act(self, observation: Observation) -> str:
        self._prepare(observation)
        return self.inner.act(observation)

    async def act_async(self, observation: Observation) -> str:
        self._prepare(observation)
        return await self.inner.act_async(observation)

    def drain_calls(self) -> list[LlmCall]:
        return self.inner.drain_calls()


def placebo(state: PlaybookState) -> PlaybookState:
    """The control memory: every active entry kept with its cue, its instruction replaced by neutral words
    of the same length (same size, same retrieval, no content)."""
    entries: dict[str, Entry] = {}
    for entry in state.by_status(Lifecycle.ACTIVE):
        neutral = Entry(cue=entry.cue, instruction=placebo_instruction(len(entry.instruction)),
                        expected_effect="nothing (placebo control)", rationale=entry.rationale,
                        evidence=entry.evidence, status=Lifecycle.ACTIVE, status_reason="placebo control",
                        impact=entry.impact)
        entries.setdefault(neutral.id, neutral)
    return PlaybookState(state.version, entries)


def without(state: PlaybookState, entry_id: str) -> PlaybookState:
    """The memory with one entry removed (an ablation)."""
    return PlaybookState(state.version, {k: v for k, v in state.entries.items() if k != entry_id})


def ablated(state: PlaybookState, n: int) -> list[Entry]:
    """The ``n`` active entries injected most while learning (ties: more successes with, then id)."""
    ranked = sorted(state.by_status(Lifecycle.ACTIVE),
                    key=lambda e: (-e.impact.injected, -e.impact.success_with, e.id))
    return ranked[:n]
