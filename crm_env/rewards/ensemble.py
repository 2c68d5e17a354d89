"""The reward ensemble: per-turn components, binary turn success (the headline) and a shaped reward.

Components (each with a status, a score and a rationale in ``info["reward_breakdown"]``):

==========  ==========================================================================  ===========
state       the turn's net CRM changes equal the gold calls' (``rewards.state``)         every turn
retrieval   what the answer needs reached the agent (``rewards.grounding``)             read turns
refusal     nothing changed and the reply says why (``rewards.failure``)                 refused turns
reply       the reply read as claims: recall, precision, outcome (``rewards.meaning``)  every turn
arguments   canonicalised match of the calls with the gold calls (``rewards.arguments``) diagnostic
judge       LLM verdict on undecided components, or an audit (``rewards.arbiter``)        when consulted
tool_errors failed tool calls and invalid actions in the turn                            diagnostic
==========  ==========================================================================  ===========

**Turn success** (binary): every applicable decisive component (state, retrieval, refusal, reply) passes.
What the deterministic checks leave *undecided* is settled by ``rewards.arbiter``: with a judge, its
verdict (0.7 goal + 0.3 process ≥ 0.8) decides every undecided component, also on turns another check
failed (complete diagnostics; a judge never rescues a failed check); with ``judge_mode="audit"`` it also
audits a seeded sample of deterministic passes, and a FAIL there vetoes the turn (the ``judge`` component
fails with ``details["veto"]``; the shaped reward is capped at the judge's score). Without a judge an
undecided component keeps status "undecided", scores 0.0 and the turn is not a success. If the judge
itself fails, the components it was asked about get status "error" and no score, the turn is not a
success, and ``judge_error`` is set so evaluation can exclude the turn as an infrastructure failure.

**Shaped reward** in [0, 1]: ``sum(WEIGHTS[c] × score[c]) / sum(WEIGHTS[c])`` over the components that
have a score, minus ``TOOL_ERROR_PENALTY`` per failed call or invalid action (at most
``MAX_TOOL_ERROR_PENALTY``), clipped to [0, 1]. It is 1.0 exactly when the turn succeeds with perfect
arguments and no errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from crm_env.datasets.format import Turn
from crm_env.rewards.arbiter import DEFAULT_AUDIT_RATE, DEFAULT_JUDGE_MODE, JUDGE, arbitrate, vetoed
from crm_env.rewards.arguments import match_arguments
from crm_env.rewards.component import Component, Status, failed, not_applicable, plain
from crm_env.rewards.failure import validate_refusal
from crm_env.rewards.grounding import Seen, validate_grounding
from crm_env.rewards.judge import Judge
from crm_env.rewards.meaning import check_reply
from crm_env.rewards.replay import GoldOutcome
from crm_env.rewards.scope import Episode, build_scope
from crm_env.rewards.state import net_changes, validate_state
from crm_env.sandbox import ToolResult
from crm_env.tools import Change

# Declared once: the shaped reward's weights (decisive components weigh most) and its error penalty.
WEIGHTS: dict[str, float] = {"state": 0.4, "retrieval": 0.15, "refusal": 0.15, "reply": 0.15, "arguments": 0.15}
TOOL_ERROR_PENALTY = 0.05
MAX_TOOL_ERROR_PENALTY = 0.2
DECISIVE = ("state", "retrieval", "refusal", "reply")


@dataclass(frozen=True, slots=True)
class AgentCall:
    """One action of the agent in a turn that reached the catalog (valid JSON shape)."""

    tool: str
    arguments: dict[str, Any]
    result: ToolResult


@dataclass(frozen=True, slots=True)
class TurnVerdict:
    success: bool
    shaped: float
    components: dict[str, Component]
    tool_errors: int
    judge_error: bool = False

    def breakdown(self) -> dict[str, Any]:
        return {name: c.to_dict() for name, c in self.components.items()}


def score_turn(
    turn: Turn,
    gold: GoldOutcome,
    calls: Sequence[AgentCall],
    changes: Sequence[Change],
    reply: str,
    seen: Seen | None,
    tool_errors: int,
    fact_values: Sequence[Any] | None = None,
    judge: Judge | None = None,
    request: str | None = None,
    is_write: bool | None = None,
    gold_ids: set[str] | None = None,
    judge_mode: str = DEFAULT_JUDGE_MODE,
    sample_key: str | None = None,
    audit_rate: float = DEFAULT_AUDIT_RATE,
    episode: Episode | None = None,
) -> TurnVerdict:
    """Score one finished turn.

    Args:
        turn: The dataset turn.
        gold: The gold calls' outcome on the pre-turn state (``GoldReplay.run``).
        calls: The agent's tool calls in this turn.
        changes: The agent's change log for this turn.
        reply: The agent's reply ("" when the turn ended on the budget).
        seen: What the agent's successful results showed in this episode so far, this turn's included
            (``rewards.grounding``); None: only this turn's calls.
        tool_errors: Failed calls plus invalid actions in this turn.
        fact_values: The reply facts' values with references resolved (the raw values when None).
        judge: Decides undecided components (and audits passes in audit mode); None: they stay undecided.
        request: The user message as shown to the agent (for the judge).
        is_write: ``turn.is_write`` when the caller has it already (the env computes it once per turn).
        gold_ids: ``grounding.answer_ids`` of the gold results when the caller has them already.
        judge_mode: ``"undecided"`` or ``"audit"`` (``crm_env.rewards.arbiter``); ignored without a judge.
        sample_key: ``arbiter.sample_key(conversation_id, turn_id, seed)``: decides, in audit mode, whether
            this turn is audited when it passes.
        audit_rate: The share of deterministic passes audited in audit mode.
        episode: The episode's initial records, changes so far and date, for reading the reply against
            what is true (``rewards.scope``); without it only this turn's changes and results are known.

    Raises:
        ConfigError: A bad ``judge_mode`` or ``audit_rate`` (with a judge).
    """
    net = net_changes(changes)
    expect_success = turn.expect_success
    broken = None
    if expect_success:
        for result in gold.results:
            if not result.ok:
                broken = result
                break
    if broken is not None:
        # An earlier mistake (e.g. a record never created) makes this request impossible in this episode:
        # the gold calls themselves fail, so matching their (empty) change log would reward doing nothing.
        components: dict[str, Component] = {"state": failed(
            "state", f"the request cannot be carried out in this episode's state (the reference call "
                     f"{broken.tool} fails: {broken.error})")}
    else:
        components = {"state": validate_state(changes, gold.changes, net)}
    if expect_success and not (turn.is_write if is_write is None else is_write):
        if seen is None:
            seen = Seen()
            for call in calls:
                if call.result.ok:
                    seen.add(call.result.data)
        components["retrieval"] = validate_grounding(gold.results, seen, [(f.label, v) for f, v in zip(
            turn.reply_facts, fact_values if fact_values is not None else [f.value for f in turn.reply_facts],
            strict=True)], [c.result for c in calls], gold_ids)
    else:
        components["retrieval"] = _NOT_READ
    if expect_success:
        components["refusal"] = _NOT_REFUSED
    else:
        category = turn.failure_category.value if turn.failure_category else None
        components["refusal"] = validate_refusal(net, reply, category, request or turn.utterance)
    values = fact_values if fact_values is not None else [f.value for f in turn.reply_facts]
    scope = build_scope(episode or Episode({}, changes, ""), gold, [c.result for c in calls], changes,
                        [(f.label, v) for f, v in zip(turn.reply_facts, values, strict=True)],
                        request or turn.utterance, expect_success,
                        turn.is_write if is_write is None else is_write, components["state"].passed)
    components["reply"] = check_reply(reply, scope)
    components["arguments"] = match_arguments(gold.calls, [(c.tool, c.arguments) for c in calls])
    components, judge_error = arbitrate(components, turn, gold, calls, reply, fact_values, request, judge,
                                        judge_mode, sample_key, decisive=DECISIVE, audit_rate=audit_rate)
    success = True
    for name in DECISIVE:
        status = components[name].status
        if status is not _PASS and status is not _NOT_APPLICABLE:
            success = False
            break
    judged = components.get(JUDGE)
    if judged is not None and judged.status is not _PASS:
        success = False  # an audit's veto (the decisive components all passed), or a judge that failed
    components["tool_errors"] = _tool_errors(tool_errors)
    shaped = shaped_reward(components, tool_errors)
    veto = vetoed(components)
    if veto is not None:
        shaped = min(shaped, veto.score or 0.0)  # a vetoed turn never earns the full reward
    return TurnVerdict(success, shaped, components, tool_errors, judge_error)


_PASS, _NOT_APPLICABLE, _UNDECIDED = Status.PASS, Status.NOT_APPLICABLE, Status.UNDECIDED


def _tool_errors(count: int) -> Component:
    component = _TOOL_ERRORS.get(count) if type(count) is int else None
    if component is None:
        component = plain("tool_errors", Status.DIAGNOSTIC, float(count), f"{count} failed call(s) or invalid action(s)")
        if type(count) is int and 0 <= count < 64:
            _TOOL_ERRORS[count] = component
    return component


_TOOL_ERRORS: dict[int, Component] = {}

# Components are immutable: the not-applicable verdicts every turn repeats are built once.
_NOT_READ = not_applicable("retrieval", "not a read request")
_NOT_REFUSED = not_applicable("refusal", "the request is valid")


def shaped_reward(components: dict[str, Component], tool_errors: int) -> float:
    """The documented weighted sum (see the module docstring)."""
    total = weight = 0.0
    get = components.get
    for name, w in WEIGHTS.items():
        component = get(name)
        if component is not None:
            score = component.score
            if score is not None:
                total += w * score
                weight += w
    value = total / weight if weight else 0.0
    value -= min(MAX_TOOL_ERROR_PENALTY, TOOL_ERROR_PENALTY * tool_errors)
    return round(min(1.0, max(0.0, value)), 6)
