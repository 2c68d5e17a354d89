"""A seeded, offline agent that behaves like a fallible model.

It plays like the replay agent, but on each turn it may make ONE of the mistakes real models make, at
the per-category rates of ``MistakeRates``. A category is only drawn on turns where it can happen (no
casing mistake without an enum argument, no dropped field from a call without required fields, no
skipped facts on a turn without facts...); on such a turn it is drawn with exactly its configured
probability, so the realised rate of a category is ``injected / opportunities``.

Mistakes that the CRM rejects (wrong casing, an invented id, a missing field) are followed, with
probability ``recover``, by the correct call, as a model that reads the error would do; otherwise the
agent gives up and relays the error.

Randomness comes only from a ``random.Random`` seeded by (seed, conversation id, how many times this
instance has played that conversation): results are reproducible and independent of the order or
concurrency in which conversations run. Each mistake is logged in ``self.log`` (``MistakeRecord``).

**Guidance** (the continual-learning student): ``guide(instructions)`` before a turn hands the agent the
playbook entries injected for it. An instruction *addresses* a category when it matches that category's
pattern in ``TEACHABLE`` (a casing rule for ``enum_casing``, "required" fields for ``missing_field``, ...);
on that turn the category's rate is multiplied by ``GUIDANCE_FACTOR``. In the ``paired`` lane a supervisor may
stop a mistaken call before the CRM sees it: when the rejection's guidance addresses the mistake, a
student that would not have recovered gets one more draw (``_after_result``). Instructions that address nothing
(placebo, irrelevant) change nothing: the turn's single random draw is the same, so its play is identical.
``wrong_tool`` and ``give_up`` are not teachable. An instruction that *misleads* a category (it matches that
category's pattern in ``MISLEADING``: "lower case", "also add a note", ...) raises that mistake's chance
to ``MISLED_RATE`` on the turns where it applies, taken from the part of the turn's draw no category uses
(so the other categories keep theirs; with the default rates there is room for all of it), and it wins
over a teaching match in the same instruction. A harmful playbook entry thus has a measurable cost. A simulation for testing the learning machinery: it
never supports a claim that guidance helps a real model.
"""

from __future__ import annotations

import hashlib
import random
import re
import uuid
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from crm_env.agents.base import SUPERVISOR_REJECTED
from crm_env.agents.phrasing import give_up, refusal, vague_done, without_reason
from crm_env.agents.replay import GOLD, ReplayAgent, TurnState
from crm_env.datasets.format import Conversation
from crm_env.errors import ConfigError
from crm_env.tools import catalog, get_spec

WRONG = "wrong"
EXTRA = "extra"
_ENTITY_OF_KEY = {"client_id": "Client", "contact_id": "Contact", "opportunity_id": "Opportunity",
                  "quote_id": "Quote", "contract_id": "Contract"}
_ENTITY_WORDS = ("opportunit", "quote", "client", "contact", "contract", "document", "note", "compan")


@dataclass(frozen=True)
class MistakeRates:
    """Per-turn probability of each mistake (on turns where it is possible), and of recovering.

    The defaults give about 80 % turn success on ``arc-crm-1200`` / ``eval-400`` (memory backend).
    """

    enum_casing: float = 0.06  # an enum value in the wrong case ("closed-won")
    hallucinated_id: float = 0.04  # an id that does not exist (invented or stale)
    missing_field: float = 0.04  # a required argument left out
    wrong_tool: float = 0.04  # a plausible but wrong tool
    extra_write: float = 0.03  # the right call plus an unrequested write
    skip_facts: float = 0.05  # the right calls, but a reply without the facts (or the refusal's reason)
    give_up: float = 0.02  # no call, an unhelpful reply
    recover: float = 0.5  # after a rejected mistaken call, retry correctly (else relay the error)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"mistake rate {f.name}={value!r} must be between 0 and 1")
        if sum(self.mistakes().values()) > 1.0:
            raise ConfigError("the mistake rates (all but recover) must sum to at most 1")

    def mistakes(self) -> dict[str, float]:
        """The mistake categories and their rates, in draw order."""
        return {k: v for k, v in asdict(self).items() if k != "recover"}

    @classmethod
    def none(cls) -> MistakeRates:
        return cls(**dict.fromkeys(cls().mistakes(), 0.0))


MISTAKES: tuple[str, ...] = tuple(MistakeRates().mistakes())
GUIDANCE_FACTOR = 0.25  # a relevant injected instruction keeps a quarter of its category's rate
# What an instruction must say to address a category (matched case-insensitively in the instruction).
TEACHABLE: dict[str, re.Pattern[str]] = {
    "enum_casing": re.compile(r"\b(?:case|casing|capitali[sz]|spell|exact(?:ly)? as)", re.IGNORECASE),
    "hallucinated_id": re.compile(r"\b(?:look (?:it )?up|search (?:for it )?first|never (?:guess|invent)|real id|"
                                  r"ids? (?:from|returned))", re.IGNORECASE),
    "missing_field": re.compile(r"\b(?:required|every field|all (?:the )?fields|missing)", re.IGNORECASE),
    "extra_write": re.compile(r"\b(?:nothing else|only (?:the|what)|no other (?:write|change)s?|unrequested)",
                              re.IGNORECASE),
    "skip_facts": re.compile(r"\b(?:state the|give the|include the|say (?:which|why|what))|\breason\b",
                             re.IGNORECASE),
}

# What an instruction must say to mislead a category (a harmful entry), and how often it then goes wrong.
MISLEADING: dict[str, re.Pattern[str]] = {
    "enum_casing": re.compile(r"\b(?:lower[- ]?case|ignore (?:the )?(?:case|capitals))", re.IGNORECASE),
    "missing_field": re.compile(r"\b(?:leave out|omit|skip) (?:the )?(?:optional|required|fields?)", re.IGNORECASE),
    "extra_write": re.compile(r"\balso (?:add|create|write|log) (?:a )?note", re.IGNORECASE),
}
MISLED_RATE = 0.5


@dataclass(frozen=True, slots=True)
class MistakeRecord:
    conversation_id: str
    turn_id: int
    mistake: str | None  # None: the turn was played correctly
    applicable: tuple[str, ...]  # the categories that could have been drawn on this turn
    recovered: bool | None = None
    guided: tuple[str, ...] = ()  # the categories an injected instruction addressed on this turn
    misled: tuple[str, ...] = ()  # the categories an injected instruction misled on this turn


def _stream_seed(seed: int, conversation_id: str, play: int) -> int:
    digest = hashlib.sha256(f"{seed}\x00{conversation_id}\x00{play}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _enum_arguments(tool: str, arguments: dict[str, Any]) -> list[str]:
    props = get_spec(tool).parameters.get("properties", {})
    return [k for k, v in arguments.items() if isinstance(v, str) and v in props.get(k, {}).get("enum", ())]


def _id_arguments(arguments: dict[str, Any]) -> list[str]:
    return [k for k, v in arguments.items() if k.endswith("_id") and isinstance(v, str) and v]


def _recase(value: str, rng: random.Random) -> str:
    options = [v for v in (value.lower(), value.upper(), value.title().swapcase()) if v != value]
    return rng.choice(options) if options else value + " "


def _confusable_tool(tool: str, rng: random.Random) -> str:
    kind = get_spec(tool).kind
    same_kind = [s.name for s in catalog() if s.kind is kind and s.name != tool]
    near = [n for n in same_kind if any(w in n and w in tool for w in _ENTITY_WORDS)]
    return rng.choice(near or same_kind)


class ScriptedAgent(ReplayAgent):
    """A fallible offline agent (see the module docstring).

    Args:
        conversations: The dataset's conversations.
        rates: Mistake rates; ``MistakeRates()`` by default.
        seed: Seeds every per-conversation generator.
    """

    name = "scripted"
    simulated = True

    def __init__(self, conversations: Any, rates: MistakeRates | None = None, seed: int = 0) -> None:
        super().__init__(conversations)
        self.rates = rates or MistakeRates()
        self.seed = seed
        self.log: list[MistakeRecord] = []
        self._plays: dict[str, int] = {}
        self._rng = random.Random(0)
        self._guidance: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"ScriptedAgent(conversations={len(self._by_id)}, seed={self.seed}, rates={self.rates})"

    def _start_episode(self, conv: Conversation) -> None:
        play = self._plays.get(conv.conversation_id, 0)
        self._plays[conv.conversation_id] = play + 1
        self._rng = random.Random(_stream_seed(self.seed, conv.conversation_id, play))

    def guide(self, instructions: Any) -> None:
        """The playbook instructions injected for the next turn (see the module docstring)."""
        self._guidance = tuple(str(i) for i in instructions)

    def _guided(self, applicable: list[str], patterns: dict[str, re.Pattern[str]]) -> tuple[str, ...]:
        return tuple(name for name in applicable if name in patterns
                     and any(patterns[name].search(text) for text in self._guidance))

    # ------------------------------------------------------------------ planning
    def _applicable(self, state: TurnState) -> list[str]:
        call = state.calls[0]
        tool, args = call["tool"], call["arguments"]
        spec = get_spec(tool)
        found = []
        for name in MISTAKES:
            if name == "enum_casing":
                ok = bool(_enum_arguments(tool, args))
            elif name == "hallucinated_id":
                ok = bool(_id_arguments(args))
            elif name == "missing_field":
                ok = any(k in args for k in spec.required)
            elif name == "extra_write":
                ok = state.turn.expect_success
            elif name == "skip_facts":
                ok = bool(state.turn.reply_facts) or not state.turn.expect_success
            else:
                ok = True
            if ok:
                found.append(name)
        return found

    def _plan(self, state: TurnState) -> None:
        rng = self._rng
        applicable = self._applicable(state)
        misled = self._guided(applicable, MISLEADING)
        guided = tuple(name for name in self._guided(applicable, TEACHABLE) if name not in misled)
        self._guidance = ()  # guidance is for one turn
        draw = rng.random()  # one draw per turn: P(category) is exactly its rate where applicable
        mistake = None
        edge = 0.0
        rates = self.rates.mistakes()
        for name in applicable:
            edge += rates[name]
            if draw < edge:
                # a guided category keeps the first GUIDANCE_FACTOR of its interval: the other
                # categories' chances are untouched
                if name not in guided or draw - (edge - rates[name]) < rates[name] * GUIDANCE_FACTOR:
                    mistake = name
                break
        if mistake is None and misled and edge <= draw:
            # the unused tail of the draw [edge, 1) gives the misled category its extra chances
            name = misled[0]
            extra = min(max(MISLED_RATE - rates[name], 0.0), 1.0 - edge)
            if draw < edge + extra:
                mistake = name
        recovered = None
        gold = [(GOLD, c) for c in state.calls]
        call = state.calls[0]
        tool, args = call["tool"], dict(call["arguments"])
        if mistake in ("enum_casing", "hallucinated_id", "missing_field"):
            if mistake == "enum_casing":
                key = rng.choice(_enum_arguments(tool, args))
                args[key] = _recase(args[key], rng)
            elif mistake == "hallucinated_id":
                key = rng.choice(_id_arguments(args))
                args[key] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            else:
                key = rng.choice([k for k in get_spec(tool).required if k in args])
                del args[key]
            recovered = rng.random() < self.rates.recover
            # After the rejection a recovering model retries correctly; otherwise it relays the error.
            state.queue = [(WRONG, {"tool": tool, "arguments": args})] + (gold if recovered else [])
            state.reply_mode = "full" if recovered else "error"
        elif mistake == "wrong_tool":
            state.queue = [(WRONG, {"tool": _confusable_tool(tool, rng), "arguments": args})]
            state.reply_mode = "error"
        elif mistake == "extra_write":
            state.queue = gold + [(EXTRA, {})]  # filled in once the gold results are known
        elif mistake == "skip_facts":
            state.queue = gold
            state.reply_mode = "bare"
        elif mistake == "give_up":
            state.queue = []
            state.reply_mode = "give_up"
        else:
            state.queue = gold
        self.log.append(MistakeRecord(self.conversation_id or "", state.turn.turn_id, mistake,
                                      tuple(applicable), recovered, guided, misled))

    def _materialise(self, state: TurnState, tag: str, action: dict[str, Any]) -> dict[str, Any]:
        return self._extra_write(state) if tag == EXTRA else action

    def _after_result(self, state: TurnState, result: dict[str, Any]) -> None:
        """A supervisor's rejection of a mistaken call whose guidance addresses the mistake gives the agent a
        second chance to recover: with probability ``1 - (1 - recover) × GUIDANCE_FACTOR`` (one more draw)."""
        record = self.log[-1] if self.log else None
        if result.get("error_type") != SUPERVISOR_REJECTED or state.last_tag != WRONG or record is None \
                or record.recovered is not False:
            return
        pattern = TEACHABLE.get(record.mistake or "")
        if pattern is None or not pattern.search(str(result.get("guidance") or "")):
            return
        if self._rng.random() < 1.0 - (1.0 - self.rates.recover) * GUIDANCE_FACTOR:
            state.queue = [(GOLD, c) for c in state.calls]
            state.reply_mode = "full"
            self.log[-1] = replace(record, recovered=True, guided=(*record.guided, record.mistake or ""))

    def _extra_write(self, state: TurnState) -> dict[str, Any]:
        """An unrequested note on the record the turn touched (or any known record)."""
        target = None
        for source in [state.calls[0]["arguments"], *[r.get("data") for r in state.results if r.get("ok")]]:
            if isinstance(source, dict):
                for key, entity in _ENTITY_OF_KEY.items():
                    if isinstance(source.get(key), str):
                        target = (entity, source[key])
                        break
            if target:
                break
        if target is None:
            assert self._conv is not None
            for entity, records in self._conv.initial_records.items():
                key = entity.lower() + "_id"
                if key in _ENTITY_OF_KEY and records:
                    target = (_ENTITY_OF_KEY[key], records[0][key])
                    break
        if target is None:  # nothing to annotate: a duplicate of the request is the extra write
            return state.calls[0]
        return {"tool": "add_note", "arguments": {
            "entity_type": target[0], "entity_id": target[1], "content": "Updated as requested."}}

    # ------------------------------------------------------------------ replies
    def _reply(self, state: TurnState) -> str:
        key = f"{self.conversation_id}:{state.turn.turn_id}"
        if state.reply_mode == "give_up":
            return give_up(key)
        if state.reply_mode == "bare":  # the right calls, but the facts (or the refusal's reason) left out
            return vague_done(key) if state.turn.expect_success else without_reason(self._context(state))
        if state.reply_mode == "error":  # relays the rejection of its own wrong call
            last = state.results[-1] if state.results else {}
            if last.get("ok") is False:
                return refusal(self._context(state, str(last.get("error"))))
            return vague_done(key)
        return super()._reply(state)

    def realised_rates(self) -> dict[str, tuple[int, int]]:
        """Per category: (turns where it was injected, turns where it could have been)."""
        out = {name: [0, 0] for name in MISTAKES}
        for record in self.log:
            for name in record.applicable:
                out[name][1] += 1
            if record.mistake is not None:
                out[record.mistake][0] += 1
        return {k: (v[0], v[1]) for k, v in out.items()}
