"""One step of the continual-learning loop: play an episode with the playbook, then learn from it.

Per turn (lane ``coach``): the entries whose cue matches the user's request are retrieved from the memory
as it stood when the episode began; each matched instruction is withheld on ``HOLDOUT_RATE`` of its turns
(a seeded draw per episode, turn and instruction: entries that say the same thing under different cues
are withheld together, or "without it" would still have it) so its impact can be measured against turns
without it; the rest are handed to the student (``Agent.guide``, each distinct instruction once) within
the token budget. Matched entries the budget leaves
out are recorded but not compared: which entries fit depends on what else matched, so that group is not
a fair comparison; the seeded holdout is. Lane ``auto`` injects nothing (every matched entry is "without"). The turn's learning signal is the env's verdict
(``turn_signal``: the one place the reward enters learning).

With a judge panel (``crm_env.learning.judges``), the panel's verdict is the learning signal of the turns
the env did not fail; the ``verdict`` event keeps the env's beside it. The teacher reflects on the played
episode's turns (``play``: it depends on the episode only, so episodes can be played concurrently).

Then ``learn``, against the memory as it stands when the episode's turn to be learned from comes (in
episode order): the impact of every entry that matched is counted (one ``CountImpact`` per entry), the
curator turns the teacher's proposals into changes and reviews the memory for harmful entries. The
episode's events and memory changes are returned together; ``crm_env.learning.run`` writes them (events
first, then the memory), so a run killed at any point resumes after its last whole episode.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from crm_env.agents.base import Agent
from crm_env.datasets.format import Conversation
from crm_env.envs.env import CrmEnv
from crm_env.eval.prices import PriceTable
from crm_env.eval.results import LlmCallRecord, Usage
from crm_env.learning import curator
from crm_env.learning.adaptive import AdaptivePolicy
from crm_env.learning.entries import Change, CountImpact, Delta, Impact
from crm_env.learning.escalate import Escalation, TakeoverAgent
from crm_env.learning.events import (
    DriftNote,
    EpisodeEnd,
    GuidanceInjected,
    JudgeSamples,
    Lane,
    LaneDecision,
    MemoryDelta,
    ProposalSkipped,
    Takeover,
    TeacherProposal,
    TeacherReview,
    TurnVerdict,
)
from crm_env.learning.judges import JudgePanel, judge_prompt
from crm_env.learning.memory import PlaybookState
from crm_env.learning.retrieval import DEFAULT_BUDGET_TOKENS, Retriever
from crm_env.learning.supervised import SupervisedAgent
from crm_env.learning.teacher import Action, RuleTeacher, TurnView, cue_words

HOLDOUT_RATE = 0.2


@dataclass(frozen=True)
class Signal:
    """What learning reads of a finished turn."""

    success: bool
    reward: float
    breakdown: dict[str, Any]


def turn_signal(info: dict[str, Any]) -> Signal:
    """The learning signal of a turn: the env's verdict (success, shaped reward, per-component breakdown)."""
    return Signal(bool(info["turn_success"]), float(info["shaped_reward"]), info["reward_breakdown"])


def held_out(seed: int, episode_id: str, turn_id: int, instruction: str) -> bool:
    """Whether a matched instruction is withheld on this turn (seeded, independent of everything else)."""
    key = " ".join(instruction.lower().split())
    digest = hashlib.sha256(f"{seed}\x00{episode_id}\x00{turn_id}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < HOLDOUT_RATE


@dataclass
class Played:
    """A played episode, not yet learned from: its events so far (``(type, fields)``, numbered by ``learn``)
    and what learning needs of it."""

    index: int
    conversation: Conversation
    episode_id: str
    events: list[tuple[Any, dict[str, Any]]] = field(default_factory=list)
    impact: dict[str, list[int]] = field(default_factory=dict)  # entry id -> [injected, with, without, with]
    proposals: list[tuple[Any, str]] = field(default_factory=list)  # the teacher's (entry, why)
    skipped: list[str] = field(default_factory=list)  # the teacher's unusable replies
    usage: dict[str, Usage] = field(default_factory=dict)
    outcomes: list[tuple[tuple[str, ...], bool, bool]] = field(default_factory=list)  # (cue, learned, taken over)
    turns: int = 0
    successes: int = 0
    strict: bool = False


@dataclass
class EpisodeRecord:
    """An episode's events (numbered from ``first_seq``) and the memory deltas it produced."""

    events: list[Any] = field(default_factory=list)
    deltas: list[Delta] = field(default_factory=list)
    state: PlaybookState = field(default_factory=PlaybookState)  # the memory after the deltas
    turns: int = 0
    successes: int = 0
    strict: bool = False


class LearningLoop:
    """Plays episodes on one env and learns from them (see the module docstring).

    Args:
        env: The environment (its dataset holds every conversation the loop will play).
        make_student: Builds the student of an episode from (conversation, episode seed).
        teacher: Reflects on finished episodes and reviews writes in the paired lanes (``RuleTeacher``, its
            placebo control, or ``crm_env.learning.llm_teacher.LlmTeacher``).
        lane: ``coach`` (inject guidance), ``paired`` (coach, and the teacher reviews each proposed write
            before the CRM sees it: ``crm_env.learning.supervised``), ``escalate`` (coach, and the teacher
            takes a turn over after the student's repeated failure on its cue: ``crm_env.learning.escalate``),
            ``adaptive`` (coach, paired or escalate per turn: ``crm_env.learning.adaptive``) or ``auto``
            (the student alone).
        seed: The run seed (holdout draws).
        budget_tokens: The playbook's token budget per turn.
        judges: A judge panel settling the learning verdict of turns the env did not fail
            (``crm_env.learning.judges``); None: the env's verdict is the learning signal.
    """

    def __init__(self, env: CrmEnv, make_student: Callable[[Conversation, int], Agent], teacher: RuleTeacher,
                 lane: Lane = "coach", seed: int = 0, budget_tokens: int = DEFAULT_BUDGET_TOKENS,
                 prices: PriceTable | None = None, judges: JudgePanel | None = None) -> None:
        self.env = env
        self.prices = prices or PriceTable()
        self.judges = judges
        self.make_student = make_student
        self.teacher = teacher
        self.lane = lane
        self.policy = AdaptivePolicy() if lane == "adaptive" else None
        self.escalation = Escalation() if lane in ("escalate", "adaptive") else None
        self.seed = seed
        self.budget_tokens = budget_tokens
        self._telemetry: list[dict[str, Any]] = []
        env.telemetry = self._telemetry.append
        self._retriever: Retriever | None = None
        self._retriever_version = -1

    def _retrieve(self, state: PlaybookState) -> Retriever:
        if self._retriever is None or self._retriever_version != state.version:
            self._retriever = Retriever(state.entries.values())
            self._retriever_version = state.version
        return self._retriever

    def episode(self, index: int, conversation: Conversation, seed: int, state: PlaybookState,
                first_seq: int) -> EpisodeRecord:
        """Play and learn from one episode; ``state`` is the memory before it (it is not modified)."""
        return self.learn(self.play(index, conversation, seed, state), state, first_seq)

    def play(self, index: int, conversation: Conversation, seed: int, state: PlaybookState) -> Played:
        """Play one episode with the memory ``state`` (not modified) and have the teacher reflect on it."""
        episode_id = f"{index}:{conversation.conversation_id}"
        record = Played(index, conversation, episode_id)

        def emit(event_type: Any, **fields: Any) -> None:
            record.events.append((event_type, fields))

        retriever = self._retrieve(state)
        student = self.make_student(conversation, seed)
        taker = supervised = None
        if self.escalation is not None:  # the teacher may take turns over
            student = taker = TakeoverAgent(student, self.teacher.takeover_agent(conversation, seed))
        if self.lane in ("paired", "adaptive"):  # the teacher reviews each proposed write before the CRM sees it
            student = supervised = SupervisedAgent(student, self.teacher, lambda review: emit(
                TeacherReview, turn_id=conversation.turns[int(review["turn"])].turn_id, teacher=self.teacher.name,
                tool=review["tool"], approved=review["approved"], rule=review.get("rule"),
                reason=review.get("reason"), guidance=review.get("guidance")))
        telemetry = self._telemetry
        telemetry.clear()
        obs, _ = self.env.reset(seed=seed, options={"conversation_id": conversation.conversation_id})
        student.reset(conversation.conversation_id)
        impact = record.impact
        teacher_turns: set[int] = set()  # turns the escalate lane handed the teacher
        views: list[TurnView] = []
        usage = record.usage  # LLM calls by role (none offline)
        request: str | None = None
        injected: tuple[str, ...] = ()
        without: tuple[str, ...] = ()
        over: tuple[str, ...] = ()
        taken_over = False
        env_successes = 0  # the env's verdicts (the learning signal may be the judges')
        while True:
            if request is None:
                request = str(obs["user_message"])
                turn_id = conversation.turns[len(views)].turn_id
                injected, without, over = self._select(retriever, request, episode_id, turn_id)
                lane = self.lane
                cue = cue_words(request) if self.escalation is not None else ()
                if self.policy is not None and supervised is not None:
                    decision = self.policy.decide(cue)
                    lane, supervised.active = decision.lane, decision.lane == "paired"  # type: ignore[assignment]
                    emit(LaneDecision, turn_id=turn_id, lane=lane, cue=cue, rate=decision.rate,
                         turns=decision.turns, why=decision.why)
                if taker is not None and self.escalation is not None:
                    taken_over = taker.taking_over = lane == "escalate" and self.escalation.due(cue)
                if taken_over:  # the teacher's turn: nothing for the student, nothing to compare
                    injected, without, over = (), (), ()
                elif lane != "auto":
                    student.guide(list(dict.fromkeys(state.entries[rid].instruction for rid in injected)))
                emit(GuidanceInjected, turn_id=turn_id, lane=lane, memory_version=state.version,
                     entry_ids=injected, withheld=without, matched_not_injected=over, cue=cue)
                if taken_over and taker is not None and self.escalation is not None:
                    emit(Takeover, turn_id=turn_id, teacher=self.teacher.name, cue=cue,
                         failures=self.escalation.failures(cue), simulated=taker.expert.simulated)
                telemetry.clear()
            try:
                action = student.act(obs)
            finally:
                self._account(usage, "student", student.drain_calls())
            obs, _, terminated, truncated, info = self.env.step(action)
            if "reward_breakdown" in info:
                signal = turn_signal(info)
                env_successes += signal.success
                judged = self._judge(signal, request, telemetry, turn_id, emit)
                emit(TurnVerdict, turn_id=turn_id, actor="teacher" if taken_over else "student",
                     success=signal.success, reward=signal.reward, breakdown=signal.breakdown, judged=judged)
                if judged is not None:
                    signal = Signal(judged, signal.reward, signal.breakdown)
                views.append(_view(turn_id, request, telemetry, signal))
                if taken_over:
                    teacher_turns.add(turn_id)
                record.outcomes.append((cue, signal.success, taken_over))
                if self.escalation is not None:
                    self.escalation.record(cue, signal.success, taken_over)
                if self.policy is not None and not taken_over:
                    drift = self.policy.record(cue, signal.success)
                    if drift is not None:
                        emit(DriftNote, turn_id=turn_id, cue=drift.cue, recent=drift.recent, previous=drift.previous,
                             z=drift.z)
                for group, ids in ((0, injected), (2, without)):
                    for rid in ids:
                        counts = impact.setdefault(rid, [0, 0, 0, 0])
                        counts[group] += 1
                        counts[group + 1] += signal.success
                request = None
            if terminated or truncated:
                break
        record.turns = len(views)
        record.successes = env_successes
        record.strict = record.successes == len(views) == len(conversation.turns)
        record.proposals = self.teacher.reflect(episode_id, [v for v in views if v.turn_id not in teacher_turns])
        record.skipped = getattr(self.teacher, "drain_skipped", list)()  # an LLM teacher's unusable replies
        self._account(usage, "teacher", getattr(self.teacher, "drain_calls", list)())
        if taker is not None:
            self._account(usage, "teacher", taker.drain_expert_calls())
        if self.judges is not None:
            self._account(usage, "judge", self.judges.drain_calls())
        return record

    def learn(self, played: Played, state: PlaybookState, first_seq: int) -> EpisodeRecord:
        """Learn from a played episode against the memory ``state`` (not modified); its events are
        numbered from ``first_seq``."""
        record = EpisodeRecord(turns=played.turns, successes=played.successes, strict=played.strict)

        def emit(event_type: Any, **fields: Any) -> None:
            record.events.append(event_type(seq=first_seq + len(record.events), episode_id=played.episode_id,
                                            **fields))

        for event_type, fields in played.events:
            emit(event_type, **fields)
        self._learn(record, played, state, emit)
        for cause in played.skipped:
            emit(ProposalSkipped, teacher=self.teacher.name, cause=cause)
        emit(EpisodeEnd, episode=played.index, conversation_id=played.conversation.conversation_id,
             turns=record.turns, turn_successes=record.successes, strict_success=record.strict,
             memory_version=state.version + len(record.deltas), usage=played.usage)
        return record

    def _judge(self, signal: Signal, request: str, telemetry: list[dict[str, Any]], turn_id: int,
               emit: Callable[..., None]) -> bool | None:
        """The judge panel's learning verdict of a turn (None: no panel, or no judge asked)."""
        if self.judges is None:
            return None
        reply = next((str(e.get("reply", "")) for e in telemetry if e.get("event") == "turn_verdict"), "")
        settled = self.judges.settle(signal.success, signal.breakdown,
                                     judge_prompt(request, _calls(telemetry), reply, signal.breakdown))
        for cause in settled.skipped:
            emit(ProposalSkipped, turn_id=turn_id, teacher="judge", cause=cause)
        if not settled.samples and not settled.skipped:
            return None
        emit(JudgeSamples, turn_id=turn_id, samples=tuple(settled.samples), spread=settled.spread,
             arbiter=settled.arbiter, score=settled.score, success=settled.success)
        return settled.success

    def _account(self, usage: dict[str, Usage], role: str, calls: list[Any]) -> None:
        """Add LLM calls to ``usage[role]``, priced (``crm_env.eval.prices``)."""
        for call in calls:
            usage.setdefault(role, Usage()).add(LlmCallRecord(**call.to_dict(), cost_usd=self.prices.cost(
                call.model, call.input_tokens, call.output_tokens, call.cached_tokens)))

    def _select(self, retriever: Retriever, request: str, episode_id: str,
                turn_id: int) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        """(injected, withheld by the holdout, over the budget) entry ids."""
        selection = retriever.select(request, self.budget_tokens)
        if self.lane == "auto":
            return (), tuple(e.id for e in selection.injected + selection.matched_not_injected), ()
        given, withheld = [], []
        for entry in selection.injected:
            (withheld if held_out(self.seed, episode_id, turn_id, entry.instruction) else given).append(entry.id)
        return tuple(given), tuple(withheld), tuple(e.id for e in selection.matched_not_injected)

    def _learn(self, record: EpisodeRecord, played: Played, state: PlaybookState, emit: Callable[..., None]) -> None:
        trial = record.state = PlaybookState(state.version, dict(state.entries))
        episode_id = played.episode_id

        def commit(changes: list[Change]) -> None:
            for change in changes:
                delta = Delta(version=trial.version + 1, change=change)
                trial.apply(delta)
                record.deltas.append(delta)
                emit(MemoryDelta, delta=delta)

        commit([CountImpact(entry_id=rid, impact=Impact(injected=c[0], success_with=c[1], matched_not_injected=c[2],
                                                        success_without=c[3]),
                            reason=f"episode {episode_id}: injected on {c[0]} turn(s), {c[1]} success(es); "
                                   f"held out on {c[2]}, {c[3]} success(es)")
                for rid, c in sorted(played.impact.items())])
        proposals = played.proposals
        for entry, why in proposals:
            emit(TeacherProposal, turn_id=entry.evidence[0].turn_id if entry.evidence else None,
                 teacher=self.teacher.name, entry=entry, why=why)
        commit(curator.consider(trial, proposals))
        commit(curator.review(trial))


def _calls(telemetry: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A turn's calls (the action text) with their results, from the env's telemetry of it."""
    calls: list[dict[str, Any]] = []
    for event in telemetry:
        if event.get("event") == "action" and '"respond"' not in str(event.get("action")):
            calls.append({"call": event.get("action"), "result": None})
        elif event.get("event") == "tool_result" and calls:
            calls[-1]["result"] = {k: v for k, v in event.items() if k not in ("event", "turn")}
    return calls


def _view(turn_id: int, request: str, telemetry: list[dict[str, Any]], signal: Signal) -> TurnView:
    """What the teacher sees of a turn, from the env's telemetry of it."""
    actions = tuple(Action(str(e.get("tool")), bool(e.get("ok")), e.get("error_type"), e.get("error"))
                    for e in telemetry if e.get("event") == "tool_result")
    reply = next((str(e.get("reply", "")) for e in telemetry if e.get("event") == "turn_verdict"), "")
    components = {name: (str(c.get("status")), str(c.get("rationale", ""))) for name, c in signal.breakdown.items()}
    return TurnView(turn_id, request, actions, reply, signal.success, components)
