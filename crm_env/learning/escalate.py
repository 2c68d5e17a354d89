"""The ``escalate`` lane: the teacher takes a turn over after the student's repeated failure.

Per cue (``teacher.cue_words``: the record types and field names a request mentions) ``Escalation`` counts
the student's consecutive failed turns since the teacher last took one over. When the count reaches
``ESCALATE_AFTER``, the teacher plays the next turn on that cue from its start and the count starts again,
so the student gets the cue back after each takeover. A taken-over turn is the teacher's: its verdict is
not the student's outcome (no capability estimate, impact counter or reflection reads it) and it counts as
an intervention of the lane. Otherwise the lane is ``coach``.

Who takes over (``takeover_agent`` of the teacher): an LLM teacher plays the turn as an LLM agent on its
own model (calls costed under the role ``teacher``). The rule teacher has no model to act with, so its
takeover is SIMULATED: the replay of the conversation's reference calls, a stand-in that tests the machinery
and supports no claim. ``TakeoverAgent`` keeps each actor in step with the turns it did not play: an
offline agent witnesses them (``ReplayAgent.witness``: ids the other actor created flow into its calls);
an LLM agent is briefed, at its next turn, with a transcript of what happened meanwhile (the user's
requests, the calls and their results, the replies), as a colleague joining the conversation would read it.
"""

from __future__ import annotations

import json
from typing import Any

from crm_env.agents.base import Agent, LlmCall, Observation

ESCALATE_AFTER = 2  # consecutive failed student turns on a cue before the teacher takes the next one over
BRIEF_CHARS = 1500  # per tool result in a briefing


class Escalation:
    """Per cue: the student's consecutive failed turns since the last takeover (module docstring)."""

    def __init__(self) -> None:
        self._failures: dict[tuple[str, ...], int] = {}

    def failures(self, cue: tuple[str, ...]) -> int:
        return self._failures.get(cue, 0)

    def due(self, cue: tuple[str, ...]) -> bool:
        return self.failures(cue) >= ESCALATE_AFTER

    def record(self, cue: tuple[str, ...], success: bool, taken_over: bool) -> None:
        self._failures[cue] = 0 if taken_over or success else self.failures(cue) + 1

    def replay(self, events: list[Any]) -> None:
        """Rebuild the counts from the events of a run in a lane that tracks cues (each turn's cue, then
        its verdict)."""
        from crm_env.learning.events import GuidanceInjected, TurnVerdict

        cues: dict[tuple[str, int | None], tuple[str, ...]] = {}
        for event in events:
            if isinstance(event, GuidanceInjected):
                cues[(event.episode_id, event.turn_id)] = tuple(event.cue)
            elif isinstance(event, TurnVerdict) and (event.episode_id, event.turn_id) in cues:
                self.record(cues[(event.episode_id, event.turn_id)], event.learned, event.actor == "teacher")


class TakeoverAgent:
    """The student, with ``expert`` playing the turns the lane hands the teacher (``taking_over``)."""

    def __init__(self, student: Agent, expert: Agent) -> None:
        self.inner = student
        self.expert = expert
        self.name = student.name
        self.simulated = student.simulated or expert.simulated
        self.taking_over = False
        self._missed: dict[int, list[str]] = {}  # id(actor) -> transcript lines it has not seen
        self._turn: Any = None

    def reset(self, conversation_id: str | None = None) -> None:
        self.inner.reset(conversation_id)
        self.expert.reset(conversation_id)
        self._missed = {id(self.inner): [], id(self.expert): []}
        self._turn = None

    def guide(self, instructions: Any) -> None:
        self.inner.guide(instructions)  # type: ignore[attr-defined]

    def _actors(self) -> tuple[Agent, Agent]:
        return (self.expert, self.inner) if self.taking_over else (self.inner, self.expert)

    def _brief(self, actor: Agent, observation: Observation) -> Observation:
        """The observation, with what ``actor`` missed before its request when a new turn starts."""
        missed = self._missed[id(actor)]
        if observation.get("turn") == self._turn or not missed:
            return observation
        self._missed[id(actor)] = []
        return {**observation, "user_message": "Another assistant handled part of this conversation. What happened:"
                f"\n{chr(10).join(missed)}\n\nThe user's request now: {observation.get('user_message')}"}

    def _note(self, other: Agent, observation: Observation, action: str) -> None:
        """Keep ``other`` in step with an observation it did not answer, and the answer given."""
        witness = getattr(other, "witness", None)
        if witness is not None:
            witness(observation)
            return
        lines = self._missed[id(other)]
        if observation.get("turn") != self._turn:
            lines.append(f"User: {observation.get('user_message')}")
        elif observation.get("last_result"):
            lines.append(f"Result: {str(observation['last_result'])[:BRIEF_CHARS]}")
        try:
            parsed = json.loads(action)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and "respond" in parsed:
            lines.append(f"Assistant replied: {parsed['respond']}")
        else:
            lines.append(f"Assistant called: {action}")

    def _after(self, other: Agent, observation: Observation, action: str) -> str:
        self._note(other, observation, action)
        self._turn = observation.get("turn")
        return action

    def act(self, observation: Observation) -> str:
        actor, other = self._actors()
        return self._after(other, observation, actor.act(self._brief(actor, observation)))

    async def act_async(self, observation: Observation) -> str:
        actor, other = self._actors()
        return self._after(other, observation, await actor.act_async(self._brief(actor, observation)))

    def drain_calls(self) -> list[LlmCall]:
        return self.inner.drain_calls()

    def drain_expert_calls(self) -> list[LlmCall]:
        return self.expert.drain_calls()
