"""The rule teacher: offline and deterministic, it reads a finished episode as a supervisor would and proposes
playbook entries.

It sees, per turn, only the user's request, the agent's actions with their results, its reply and the
verdict with each component's status and rationale (``TurnView``); never gold calls, expected replies or
dataset labels such as the intent. ``PlaceboTeacher`` is its control: the same proposals, cues and
evidence, with instructions of the same length that address nothing, so a run with it measures what a
memory of that size does by being there. Each rule in ``RULES`` names what it looks for in a failed turn and the
instruction it proposes; the cue is built from the request's own words: the record types and field names
it mentions (``cue_words``). One proposal per rule per episode, with the turns as evidence.

In the ``paired`` lane (``crm_env.learning.supervised``) it also reviews each proposed write before the CRM
sees it (``review``): what the declaration of the tool refuses. In the ``escalate`` lane its takeover is
simulated (``takeover_agent``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from crm_env.agents.base import Agent
from crm_env.agents.replay import ReplayAgent
from crm_env.datasets.format import Conversation
from crm_env.errors import CrmEnvError
from crm_env.learning.entries import Cue, Entry, Evidence
from crm_env.learning.supervised import Review, ReviewView
from crm_env.rewards.lexicon import ENTITY_NOUNS, FIELD_WORDS
from crm_env.tools import get_spec

NAME = "rule"


@dataclass(frozen=True)
class Action:
    """One tool call of the agent and what came back."""

    tool: str
    ok: bool
    error_type: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class TurnView:
    """What a supervisor sees of a finished turn."""

    turn_id: int
    request: str
    actions: tuple[Action, ...]
    reply: str
    success: bool
    components: dict[str, tuple[str, str]]  # name -> (status, rationale)


@dataclass(frozen=True)
class Rule:
    """A failure the teacher recognises and the instruction it proposes for it."""

    name: str
    applies: Callable[[TurnView], bool]
    instruction: str
    expected_effect: str


def _component(name: str, status: str, pattern: str) -> Callable[[TurnView], bool]:
    regex = re.compile(pattern, re.IGNORECASE)
    return lambda turn: turn.components.get(name, ("", ""))[0] == status and bool(
        regex.search(turn.components[name][1]))


def _tool_error(pattern: str) -> Callable[[TurnView], bool]:
    regex = re.compile(pattern, re.IGNORECASE)
    return lambda turn: any(not a.ok and regex.search(a.error or "") for a in turn.actions)


RULES: tuple[Rule, ...] = (
    Rule("casing", _tool_error(r"case-sensitive|not an accepted value|must be one of"),
         "Write stage and status values exactly as the CRM spells them, with the same capitals.",
         "no calls rejected for an enum value's case"),
    Rule("missing_field", _tool_error(r"required|missing"),
         "Give every required field in the call; ask the user when one is unknown.",
         "no calls rejected for a missing field"),
    Rule("unknown_id", _tool_error(r"no \w+ with the id|not found|does not exist"),
         "Look up ids with a search first and use the ids it returns; never guess an id.",
         "no calls on ids that do not exist"),
    Rule("collateral", _component("state", "fail", r"collateral|not asked|extra|unrequested"),
         "Make only the change the request asks for and nothing else.",
         "no unrequested writes"),
    Rule("refusal_reason", _component("refusal", "fail", r"no reason|gives no reason"),
         "When you cannot do a request, say which rule it breaks and why, in plain words.",
         "refusals that give their reason"),
    Rule("missing_facts", lambda turn: turn.components.get("reply", ("", ""))[0] in ("fail", "undecided")
         and bool(re.search(r"does not affirm|no facts", turn.components["reply"][1])),
         "When you reply, give the key facts of what you did or found: names, amounts, counts and dates.",
         "replies that state the facts"),
)


def cue_words(request: str) -> tuple[str, ...]:
    """The record types and field names a request mentions, as cue keywords (its first long word if none)."""
    words = re.findall(r"[a-z][a-z-]+", request.lower())
    found = [w for w in words if w in ENTITY_NOUNS]
    for phrases in FIELD_WORDS.values():
        found += [p for p in phrases if re.search(rf"\b{re.escape(p)}\b", request.lower())]
    if not found:
        found = [next((w for w in words if len(w) > 4), "request")]
    return tuple(dict.fromkeys(found))[:6]


INVALID_ARGUMENTS = "Give every argument in the form the tool declares: its names, types and exact values."


class RuleTeacher:
    """Proposes entries after an episode and reviews proposed writes (see the module docstring)."""

    name = NAME

    def review(self, view: ReviewView) -> Review | None:
        """Reject a proposed write a supervisor can see is wrong without knowing the answer: arguments the
        tool's declaration refuses (a value's casing, a missing required field, a malformed id). None
        approves it. (Whether an id exists is the CRM's to say: requests name records the agent may know.)"""
        try:
            get_spec(view.tool).parse(view.arguments)
        except CrmEnvError as exc:
            message = str(exc)
            seen = TurnView(0, view.request, (Action(view.tool, False, "validation_error", message),), "", False, {})
            rule = next((r for r in RULES if r.name in ("casing", "missing_field") and r.applies(seen)), None)
            return Review(rule.name if rule else "invalid_arguments", message,
                          rule.instruction if rule else INVALID_ARGUMENTS)
        return None

    def takeover_agent(self, conversation: Conversation, seed: int) -> Agent:
        """Who plays a turn the ``escalate`` lane hands the teacher: rules cannot act, so a SIMULATED
        stand-in, the replay of the conversation's reference calls (``crm_env.learning.escalate``)."""
        return ReplayAgent([conversation])

    def reflect(self, episode_id: str, turns: Sequence[TurnView]) -> list[tuple[Entry, str]]:
        """(entry, why) per rule that fired on a failed turn of the episode."""
        fired: dict[str, list[TurnView]] = {}
        for turn in turns:
            if turn.success:
                continue
            for rule in RULES:
                if rule.applies(turn):
                    fired.setdefault(rule.name, []).append(turn)
        proposals = []
        for rule in RULES:
            seen = fired.get(rule.name)
            if not seen:
                continue
            first = seen[0]
            entry = Entry(cue=Cue(keywords=cue_words(first.request)), instruction=rule.instruction,
                          expected_effect=rule.expected_effect,
                          rationale=f"{rule.name} on {len(seen)} failed turn(s) of {episode_id}",
                          evidence=tuple(Evidence(episode_id=episode_id, turn_id=t.turn_id,
                                                  rationale=why_failed(t)) for t in seen))
            proposals.append((entry, f"rule {rule.name!r} fired on turn(s) {', '.join(str(t.turn_id) for t in seen)}"))
        return proposals


PLACEBO_TEXT = ("Keep a friendly and even tone with the user and thank them for their patience; use short "
                "sentences and plain words; greet the user by name when you know it; ")


class PlaceboTeacher(RuleTeacher):
    """The rule teacher's proposals and reviews with neutral instructions of the same length (a control)."""

    name = "placebo"

    def review(self, view: ReviewView) -> Review | None:
        found = super().review(view)
        return None if found is None else Review(found.rule, found.reason, placebo_instruction(len(found.guidance)))

    def reflect(self, episode_id: str, turns: Sequence[TurnView]) -> list[tuple[Entry, str]]:
        out = []
        for entry, why in super().reflect(episode_id, turns):
            text = placebo_instruction(len(entry.instruction))
            out.append((Entry(cue=entry.cue, instruction=text, expected_effect="nothing (placebo control)",
                              rationale=entry.rationale, evidence=entry.evidence), why))
        return out


def placebo_instruction(length: int) -> str:
    """Neutral words (never a mistake category's pattern), cut at a word boundary to about ``length``."""
    text = PLACEBO_TEXT * (length // len(PLACEBO_TEXT) + 1)
    cut = text[:length + 1].rsplit(" ", 1)[0].rstrip(" ;,")
    return cut + "."


TEACHERS = {t.name: t for t in (RuleTeacher, PlaceboTeacher)}


def why_failed(turn: TurnView) -> str:
    """What failed in a turn, as the evidence of an entry: failed checks with their rationale, tool errors."""
    failed = [f"{name}: {rationale}" for name, (status, rationale) in turn.components.items()
              if status in ("fail", "undecided")]
    errors = [f"{a.tool}: {a.error}" for a in turn.actions if not a.ok and a.error]
    return "; ".join(failed + errors)[:1000] or "the turn failed"
