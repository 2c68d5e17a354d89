"""What Atlas's learning runtime (``atlas.core.arun``) imports by path: the agent adapter and the reward.

``crm-env atlas run`` (``crm_env.integrations.atlas.run``) runs one Atlas session per conversation and binds
the conversation, and the evaluation runner that plays it, to the session (``bind``; a context variable,
which Atlas's worker thread for the adapter inherits).

- ``play(prompt, metadata)`` (``agent.type: python``): plays the whole conversation through ``CrmEnv`` with
  one of our students, from the start on a fresh CRM each time Atlas calls it (a paired teacher's retry is
  a new attempt, scored on its own), and returns the transcript as JSON: per turn the calls with their
  outcome, the reply and whether the turn passed. Never the reference. What Atlas puts in the prompt for
  the student (its learned playbook, and its teacher's guidance on a retry) is handed to our student
  before every turn (``guide``) and kept in the session's record.
- ``CrmReward`` (``adaptive_teaching.reward.type: python``): the score is the share of turns the last
  attempt passed, by our deterministic verdict (state-checked, never an LLM's guess); strict success and
  each turn's verdict are in ``raw``.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from crm_env.errors import ConfigError


@dataclass
class Session:
    """One Atlas session: the conversation, the runner that plays it, every attempt's result line."""

    runner: Any  # crm_env.eval.runner.Runner
    conversation: Any
    agents: Any  # the runner's agent factory: (conversation, trial, seed) -> Agent
    trial: int = 0
    attempts: list[Any] = field(default_factory=list)  # ResultLine per adapter call
    guidance: list[list[str]] = field(default_factory=list)  # what Atlas's prompt held for the student, per call
    calls: list[Any] = field(default_factory=list)  # Atlas's own LLM calls (LlmCall): teacher, curator
    atlas: dict[str, Any] = field(default_factory=dict)  # what the runtime reported (mode, reward...)


_SESSION: ContextVar[Session | None] = ContextVar("crm_env_atlas_session", default=None)
_PLAYBOOK = re.compile(r">>> Student Playbook >>>\n(.*?)\n>>> End Student Playbook >>>", re.DOTALL)
_GUIDANCE = "Guidance History: "


def bind(session: Session) -> Any:
    """Make ``session`` the one ``play`` and ``CrmReward`` see; returns the token for ``unbind``."""
    return _SESSION.set(session)


def unbind(token: Any) -> None:
    _SESSION.reset(token)


def current() -> Session:
    session = _SESSION.get()
    if session is None:
        raise ConfigError("crm_env's Atlas adapter and reward run inside `crm-env atlas run`, which tells them "
                          "which conversation a session plays; run that command (not `atlas run --config`)")
    return session


def guidance(prompt: str) -> list[str]:
    """Atlas's playbook for the student and its teacher's guidance, as written in the adapter's prompt."""
    out = [m.group(1).strip() for m in _PLAYBOOK.finditer(prompt or "")]
    start = (prompt or "").rfind(_GUIDANCE)
    if start >= 0:  # a JSON list, over several lines when it is not empty
        try:
            notes, _ = json.JSONDecoder().raw_decode(prompt[start + len(_GUIDANCE):])
        except ValueError:
            notes = []
        out += [note.strip() for note in notes if isinstance(note, str)] if isinstance(notes, list) else []
    return list(dict.fromkeys(text for text in out if text))


def play(prompt: str, metadata: dict[str, Any] | None = None) -> str:
    """The agent adapter: play the session's conversation once (see the module docstring)."""
    from crm_env.learning.guided import PlaybookAgent

    session = current()
    instructions = guidance(prompt)
    session.guidance.append(instructions)
    base = session.agents
    session.runner.agent_factory = lambda conv, trial, seed: PlaybookAgent(base(conv, trial, seed),
                                                                           lambda request: instructions)
    line = asyncio.run(session.runner.episode([None], session.conversation, session.trial, []))
    session.attempts.append(line)
    return json.dumps(transcript(line), default=str)


def transcript(line: Any) -> dict[str, Any]:
    """What the agent did, as Atlas's teacher and synthesizer may read it."""
    if line.status != "completed":
        return {"conversation_id": line.conversation_id, "status": line.status, "cause": line.cause}
    return {"conversation_id": line.conversation_id, "strict_success": line.strict_success,
            "turns": [{"turn": t.turn_id, "passed": t.success, "reply": t.reply,
                       "calls": [{"tool": s.tool, "ok": s.ok, "error": s.error} for s in t.steps if s.tool]}
                      for t in line.turns]}


ROLES = {"teacher": "teacher", "learning": "curator", "reward": "judge"}  # Atlas's actors -> our cost roles


@contextmanager
def counting_atlas_calls() -> Iterator[None]:
    """Count the tokens of Atlas's own LLM calls into the bound session's ``calls``, by role: Atlas records
    only its student's. Its teacher and learning synthesizer both call ``LLMClient.acomplete`` (pinned
    0.1.16), which is wrapped for the duration; the role is the actor Atlas marks before each call."""
    from atlas.runtime.orchestration.execution_context import ExecutionContext
    from atlas.utils.llm_client import LLMClient

    from crm_env.providers.usage import LlmCall, openai_usage

    original = LLMClient.acomplete

    async def acomplete(client: Any, messages: Any, response_format: Any = None, overrides: Any = None) -> Any:
        actor = str(ExecutionContext.get().metadata.get("active_actor") or "teacher")
        started = time.perf_counter()
        response = await original(client, messages, response_format, overrides)
        session = _SESSION.get()
        if session is not None:  # LiteLLM answers in the OpenAI shape whatever the provider
            session.calls.append(LlmCall.of(ROLES.get(actor, actor), "atlas", openai_usage(response.raw, client.model),
                                            time.perf_counter() - started, 1))
        return response

    LLMClient.acomplete = acomplete  # type: ignore[method-assign]
    try:
        yield
    finally:
        LLMClient.acomplete = original  # type: ignore[method-assign]


class CrmReward:
    """The session reward: our verdict of the last attempt (see the module docstring)."""

    def __init__(self, config: Any = None, reward_config: Any = None) -> None:
        self.config = config

    async def aevaluate_session(self, trajectory: Any) -> Any:
        from atlas.evaluation.evaluator import RewardEvaluation
        from atlas.runtime.schema import AtlasRewardBreakdown

        session = current()
        if not session.attempts or session.attempts[-1].status != "completed":
            cause = session.attempts[-1].cause if session.attempts else "the agent never ran"
            breakdown = AtlasRewardBreakdown(score=0.0, rationale=f"no verdict: {cause}", raw={"status": "infra_error"})
            return RewardEvaluation(reward=breakdown)
        line = session.attempts[-1]
        passed = sum(t.success for t in line.turns)
        failed = [f"turn {t.turn_id}: " + "; ".join(f"{name} {c.status}: {c.rationale}" for name, c in t.breakdown.items()
                                                     if c.status in ("fail", "undecided"))
                  for t in line.turns if not t.success]
        breakdown = AtlasRewardBreakdown(
            score=passed / line.n_turns, rationale=(f"{passed} of {line.n_turns} turn(s) passed (crm_env verdict)"
                                                    + (": " + " | ".join(failed)[:1500] if failed else "")),
            raw={"strict_success": line.strict_success, "turns": [t.success for t in line.turns],
                 "attempts": len(session.attempts)})
        session.atlas["reward"] = breakdown.score
        return RewardEvaluation(reward=breakdown, statistics={"attempts": len(session.attempts)})
