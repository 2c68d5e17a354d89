"""A teacher on an LLM (Claude, or any OpenAI-compatible model): the same two moments as the rule teacher.

``reflect`` shows the model an episode's failed turns as a supervisor sees them (the request, the
agent's calls and what came back, its reply, each failed check's rationale; never gold calls, expected
replies or dataset labels) and asks for playbook entries as JSON:
``{"entries": [{"keywords": [...], "instruction": "...", "expected_effect": "...", "rationale": "..."}]}``.
``review`` shows it a proposed write (the request, the call, the episode's recent tool results) and asks
``{"approve": true}`` or ``{"approve": false, "reason": "...", "guidance": "..."}``.

A reply that is not valid JSON of that shape, or an entry that does not validate (an instruction over
``MAX_INSTRUCTION`` characters, no keyword), is never a crash: it is skipped, and the cause is kept in
``skipped`` for the loop to record (``proposal_skipped`` events); an unreadable review approves the write.
Calls go through the providers' shared clients with our retries; each is an ``LlmCall`` with role
``teacher`` (``drain_calls``), for the cost by role. A provider that stays down raises
``InfrastructureError``, which stops the run for ``--resume``. In the ``escalate`` lane it takes turns over
as an LLM agent on its own model (``takeover_agent``; those calls are the teacher's too).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import ValidationError

from crm_env.agents.base import Agent
from crm_env.datasets.format import Conversation
from crm_env.errors import ConfigError
from crm_env.learning.entries import MAX_INSTRUCTION, Cue, Entry, Evidence
from crm_env.learning.supervised import Review, ReviewView
from crm_env.learning.teacher import TurnView, why_failed
from crm_env.providers.usage import LlmCall

REFLECT_SYSTEM = (
    "You supervise an assistant that operates a CRM through tools. From the failed turns you are shown, "
    "write short, general playbook entries that would have prevented the failures on similar requests. "
    f"Each instruction is imperative and at most {MAX_INSTRUCTION} characters; keywords are words of the "
    "request that say when it applies. Answer with JSON only: "
    '{"entries": [{"keywords": [...], "instruction": "...", "expected_effect": "...", "rationale": "..."}]}')
REVIEW_SYSTEM = (
    "You supervise an assistant that operates a CRM through tools. Before a write reaches the CRM you see "
    "the user's request, the proposed call and the tool results so far. Stop it only when it is clearly "
    'wrong for the request. Answer with JSON only: {"approve": true} or '
    '{"approve": false, "reason": "...", "guidance": "one sentence the assistant should follow"}')
_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)
RESULTS_SHOWN = 3  # the most recent tool results a review sees
CHARS_SHOWN = 1500  # per result


def _json(text: str) -> dict[str, Any] | None:
    match = _JSON_OBJECT.search(text or "")
    if match is None:
        return None
    try:
        data = json.loads(match.group(0))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


class LlmTeacher:
    """``reflect`` and ``review`` on an LLM client (see the module docstring).

    Args:
        client: A provider client (``crm_env.rewards.judge.OpenAICompatibleClient`` or ``AnthropicClient``
            built with ``role="teacher"``): ``complete(system, prompt)`` and ``drain_calls()``.
        name: The teacher's name in events ("claude", "openai").
    """

    def __init__(self, client: Any, name: str, make_agent: Callable[[], Agent] | None = None) -> None:
        self.client = client
        self.name = name
        self.make_agent = make_agent
        self.skipped: list[str] = []

    def takeover_agent(self, conversation: Conversation, seed: int) -> Agent:
        """An LLM agent on the teacher's model, for the turns the ``escalate`` lane hands the teacher."""
        if self.make_agent is None:
            raise ConfigError(f"the {self.name} teacher was built without an agent to take turns over")
        return self.make_agent()

    def reflect(self, episode_id: str, turns: Sequence[TurnView]) -> list[tuple[Entry, str]]:
        failed = [t for t in turns if not t.success]
        if not failed:
            return []
        prompt = json.dumps([{"turn": t.turn_id, "request": t.request, "reply": t.reply, "what failed": why_failed(t),
                              "calls": [{"tool": a.tool, "ok": a.ok, "error": a.error} for a in t.actions]}
                             for t in failed], indent=1)
        data = _json(self.client.complete(REFLECT_SYSTEM, prompt))
        if data is None or not isinstance(data.get("entries"), list):
            self.skipped.append(f"{episode_id}: the teacher's reply is not the JSON asked for")
            return []
        out = []
        for item in data["entries"]:
            try:
                if not isinstance(item, dict):
                    raise TypeError("an entry must be a JSON object")
                entry = Entry(cue=Cue(keywords=tuple(str(k) for k in item.get("keywords") or ())),
                              instruction=str(item.get("instruction", "")),
                              expected_effect=str(item.get("expected_effect") or "fewer failed turns"),
                              rationale=str(item.get("rationale") or f"the {self.name} teacher on {episode_id}"),
                              evidence=tuple(Evidence(episode_id=episode_id, turn_id=t.turn_id, rationale=why_failed(t))
                                             for t in failed))
            except (ValidationError, ValueError, TypeError) as exc:
                self.skipped.append(f"{episode_id}: an entry does not validate: {str(exc).splitlines()[0][:300]}")
                continue
            out.append((entry, f"the {self.name} teacher on turn(s) {', '.join(str(t.turn_id) for t in failed)}"))
        return out

    def review(self, view: ReviewView) -> Review | None:
        results = [r[:CHARS_SHOWN] for r in view.seen[-RESULTS_SHOWN:]]
        prompt = json.dumps({"request": view.request, "proposed call": {"tool": view.tool, "arguments": view.arguments},
                             "recent tool results": results}, indent=1, default=str)
        data = _json(self.client.complete(REVIEW_SYSTEM, prompt))
        if data is None or not isinstance(data.get("approve"), bool):
            self.skipped.append(f"review of {view.tool}: the teacher's reply is not the JSON asked for; approved")
            return None
        if data["approve"]:
            return None
        guidance = str(data.get("guidance") or "").strip()[:MAX_INSTRUCTION]
        if not guidance:
            self.skipped.append(f"review of {view.tool}: a rejection without guidance; approved")
            return None
        return Review("llm", str(data.get("reason") or "the teacher stopped it")[:500], guidance)

    def drain_skipped(self) -> list[str]:
        skipped, self.skipped = self.skipped, []
        return skipped

    def drain_calls(self) -> list[LlmCall]:
        return self.client.drain_calls()


def build_teacher(kind: str, model: str | None, base_url: str | None, timeout: float) -> Any:
    """The teacher named ``kind``: ``rule`` / ``placebo`` (offline) or ``claude`` / ``openai`` (an LLM).

    Raises:
        ConfigError: A missing API key (the error names the variable).
    """
    from crm_env.agents import build_agent
    from crm_env.learning.teacher import TEACHERS

    if kind in TEACHERS:
        return TEACHERS[kind]()
    from crm_env.providers.clients import api_key
    from crm_env.rewards.judge import AnthropicClient, OpenAICompatibleClient

    if kind == "claude":
        api_key("ANTHROPIC_API_KEY", base_url)  # refused now, not at the first failed episode
        model = model or "claude-haiku-4-5"
        client: Any = AnthropicClient(model, base_url=base_url, timeout=timeout, role="teacher", max_tokens=1200)
    else:
        api_key("OPENAI_API_KEY", base_url)
        model = model or "gpt-4.1-mini"
        client = OpenAICompatibleClient(model, base_url=base_url, timeout=timeout, role="teacher")
    return LlmTeacher(client, kind, lambda: build_agent(kind, model=model, base_url=base_url, timeout=timeout))
