"""The ``paired`` lane: the teacher reviews each write the student proposes before the CRM sees it.

``SupervisedAgent`` wraps the student. When the student proposes a call to a write tool, the teacher's
``review`` gets what a supervisor in production would see (the user's request, the proposed call, the tool
results of the episode so far; never gold calls or expected replies). An approved write goes to the env
as proposed. A rejected one never reaches the CRM: the student gets, in place of its result, a rejection
(``error_type`` ``"supervisor_rejected"``, the reason and the teacher's guidance) and proposes once more;
that retry is executed without a second review. Every review is reported to ``on_review``.

To the env and the evaluation harness it is an ordinary agent, so the lane runs in the learning loop and,
as the protocol's teacher-always-on control, in an evaluation.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from crm_env.agents.base import SUPERVISOR_REJECTED, Agent, LlmCall, Observation
from crm_env.errors import UnknownToolError
from crm_env.schema.enums import ToolKind
from crm_env.tools import get_spec


@dataclass(frozen=True)
class ReviewView:
    """What the teacher sees of a proposed write."""

    request: str
    tool: str
    arguments: dict[str, Any]
    seen: tuple[str, ...]  # the user's requests and the tool results of the episode so far, as sent


@dataclass(frozen=True)
class Review:
    """A rejection: the rule that fired, why, and the guidance for the retry."""

    rule: str
    reason: str
    guidance: str


def is_write(tool: str) -> bool:
    try:
        return get_spec(tool).kind is ToolKind.WRITE
    except UnknownToolError:  # the env answers it with an error; nothing to review
        return False


class SupervisedAgent:
    """``inner`` with its writes reviewed by ``teacher`` (see the module docstring)."""

    def __init__(self, inner: Agent, teacher: Any, on_review: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.inner = inner
        self.teacher = teacher
        self.name = inner.name
        self.simulated = inner.simulated
        self.on_review = on_review
        self.interventions = 0
        self.active = True  # the adaptive lane reviews only the turns it supervises
        self._seen: list[str] = []
        self._request = ""
        self._turn: Any = None

    def reset(self, conversation_id: str | None = None) -> None:
        self.inner.reset(conversation_id)
        self._seen.clear()
        self._turn = None

    def guide(self, instructions: Any) -> None:
        self.inner.guide(instructions)  # type: ignore[attr-defined]

    def _observe(self, observation: Observation) -> None:
        if observation.get("turn") != self._turn:
            self._turn = observation.get("turn")
            self._request = str(observation.get("user_message") or "")
            self._seen.append(self._request)
        elif observation.get("last_result"):
            self._seen.append(str(observation["last_result"]))

    def _review(self, observation: Observation, action: str) -> Observation | None:
        """The observation to retry with when the teacher rejects ``action``; None when it goes ahead."""
        try:
            parsed = json.loads(action)
        except ValueError:
            return None
        if not self.active or not isinstance(parsed, dict) or not isinstance(parsed.get("tool"), str) \
                or not is_write(parsed["tool"]):
            return None
        arguments = parsed.get("arguments") if isinstance(parsed.get("arguments"), dict) else {}
        review = self.teacher.review(ReviewView(self._request, parsed["tool"], arguments, tuple(self._seen)))
        if self.on_review is not None:
            self.on_review({"turn": self._turn, "tool": parsed["tool"], "approved": review is None,
                            **(asdict(review) if review is not None else {})})
        if review is None:
            return None
        self.interventions += 1
        rejection = json.dumps({"tool": parsed["tool"], "ok": False, "error_type": SUPERVISOR_REJECTED,
                                "error": f"a supervisor stopped this call before it reached the CRM: {review.reason}",
                                "guidance": review.guidance})
        self._seen.append(rejection)
        return {**observation, "last_result": rejection}

    def act(self, observation: Observation) -> str:
        self._observe(observation)
        action = self.inner.act(observation)
        retry = self._review(observation, action)
        return action if retry is None else self.inner.act(retry)

    async def act_async(self, observation: Observation) -> str:
        self._observe(observation)
        action = await self.inner.act_async(observation)
        retry = self._review(observation, action)
        return action if retry is None else await self.inner.act_async(retry)

    def drain_calls(self) -> list[LlmCall]:
        return self.inner.drain_calls()
