"""The arbiter: what the LLM judge is asked, and what its verdict decides, for one scored turn.

The deterministic checks run first (``crm_env.rewards.ensemble``); ``arbitrate`` then settles what they
left open. Modes (``judge_mode``):

- ``"undecided"`` (the default when a judge is set): the judge decides every *undecided* component,
  also on turns where another component already failed, so every turn's diagnostics are complete.
  Turn success still needs every decisive component to pass: a judge never rescues a failed check.
- ``"audit"``: as ``"undecided"``, and the judge is also asked on a seeded sample (``audit_rate``) of
  the turns that passed deterministically. A FAIL verdict there is a *veto*: the turn fails, and the
  veto is reported as the ``judge`` component with status fail and ``details["veto"] = True``. The
  sample is a hash of (conversation id, turn id, seed) (``sample_key``), so reruns audit the same turns.

The verdict is ``0.7 × goal + 0.3 × process ≥ 0.8``, computed in code (``crm_env.rewards.judge``).
A judge failure is an infrastructure failure, never a score: the components it was asked about get
status ``error`` and no score, and ``judge_error`` is returned True.

Without a judge, an undecided component keeps status ``undecided`` with score 0.0 (the shaped reward
counts it as a miss) and a rationale ending in "(no judge configured)"; the turn is not a success.
Every component the deterministic checks left undecided carries ``details["undecided"] = True``,
whatever decided it afterwards, so evaluation can count them (``crm_env.eval.metrics``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from crm_env.errors import ConfigError
from crm_env.rewards.component import Component, Status
from crm_env.rewards.judge import Judge, JudgeError, JudgeVerdict, turn_prompt

if TYPE_CHECKING:  # the ensemble imports this module: types only, no import cycle
    from crm_env.datasets.format import Turn
    from crm_env.rewards.ensemble import AgentCall
    from crm_env.rewards.replay import GoldOutcome

JudgeMode = Literal["undecided", "audit"]
JUDGE_MODES: tuple[str, ...] = ("undecided", "audit")
DEFAULT_JUDGE_MODE: JudgeMode = "undecided"
DEFAULT_AUDIT_RATE = 0.1
JUDGE = "judge"  # the judge's own component
# details keys, declared once (evaluation reads them back from result files)
UNDECIDED = "undecided"  # on a component the deterministic checks left undecided
AUDIT = "audit"  # on the judge component: asked to audit a deterministic pass
VETO = "veto"  # on the judge component: an audit that failed the turn
DECIDED = "decided"  # on the judge component: the components its verdict decided

_UNDECIDED_STATUS, _PASS, _FAIL = Status.UNDECIDED, Status.PASS, Status.FAIL
_SAMPLE_SPACE = 2**64


def check_judge_mode(mode: str, audit_rate: float = DEFAULT_AUDIT_RATE) -> None:
    """Raise a ``ConfigError`` that says how to fix a bad ``judge_mode`` or ``audit_rate``."""
    if mode not in JUDGE_MODES:
        raise ConfigError(f"judge_mode {mode!r}: use {' or '.join(repr(m) for m in JUDGE_MODES)} "
                          "('undecided': the judge decides what the deterministic checks cannot; "
                          "'audit': also a seeded sample of deterministic passes, which it may veto)")
    if isinstance(audit_rate, bool) or not isinstance(audit_rate, int | float) or not 0 <= audit_rate <= 1:
        raise ConfigError(f"judge audit rate {audit_rate!r}: give the share of passing turns to audit, "
                          "a number from 0 to 1 (e.g. 0.1)")


def sample_key(conversation_id: str, turn_id: int, seed: int) -> str:
    """The text that decides whether a turn is audited: the same turn of the same seeded episode
    always gets the same answer, whatever else the run does."""
    return f"{conversation_id}\x00{turn_id}\x00{seed}"


def audited(key: str, rate: float) -> bool:
    """Whether the turn with this sample key falls in the audit sample (a share ``rate`` of keys)."""
    if rate <= 0:
        return False
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8], "big") < rate * _SAMPLE_SPACE


def arbitrate(
    components: dict[str, Component],
    turn: Turn,
    gold: GoldOutcome,
    calls: Sequence[AgentCall],
    reply: str,
    fact_values: Sequence[Any] | None,
    request: str | None,
    judge: Judge | None,
    mode: str = DEFAULT_JUDGE_MODE,
    sample_key: str | None = None,
    *,
    decisive: Sequence[str],
    audit_rate: float = DEFAULT_AUDIT_RATE,
) -> tuple[dict[str, Component], bool]:
    """Settle the turn's undecided components (and, in audit mode, maybe audit its pass).

    Args:
        components: The deterministic components by name; updated in place and returned.
        turn: The dataset turn (for the judge's reference).
        gold: The gold calls' outcome on the pre-turn state.
        calls: The agent's tool calls in this turn.
        reply: The agent's reply.
        fact_values: The reply facts' values with references resolved (the raw values when None).
        request: The user message as shown to the agent (the turn's utterance when None).
        judge: The judge, or None (undecided components then stay undecided, scored 0.0).
        mode: ``"undecided"`` or ``"audit"`` (see the module docstring).
        sample_key: ``sample_key(conversation_id, turn_id, seed)``; needed in audit mode.
        decisive: The names of the components turn success depends on.
        audit_rate: The share of deterministic passes audited in audit mode.

    Returns:
        The components (with ``judge`` added when it was asked) and whether the judge failed.

    Raises:
        ConfigError: A bad mode or audit rate (when a judge is set).
        ValueError: Audit mode without a sample key (a caller bug).
    """
    pending = []
    passing = True
    for name in decisive:
        status = components[name].status
        if status is _UNDECIDED_STATUS:
            pending.append(name)
        elif status is not _PASS and status is not Status.NOT_APPLICABLE:
            passing = False
    if judge is None:
        for name in pending:
            c = components[name]
            components[name] = Component(name, _UNDECIDED_STATUS, 0.0, f"{c.rationale} (no judge configured)",
                                         {**c.details, UNDECIDED: True})
        return components, False
    check_judge_mode(mode, audit_rate)
    audit = False
    if not pending:
        if not passing or mode != "audit":
            return components, False
        if sample_key is None:
            raise ValueError("judge_mode 'audit' needs the turn's sample_key (arbiter.sample_key)")
        if not audited(sample_key, audit_rate):
            return components, False
        audit = True
    prompt = _prompt(turn, gold, calls, reply, fact_values, request)
    try:
        verdict = judge.grade(prompt)
    except JudgeError as exc:
        components[JUDGE] = Component(JUDGE, Status.ERROR, None, str(exc), {AUDIT: audit, DECIDED: pending})
        for name in pending:
            c = components[name]
            components[name] = Component(name, Status.ERROR, None, f"{c.rationale}; judge failed",
                                         {**c.details, UNDECIDED: True})
        return components, True
    components[JUDGE] = _judge_component(verdict, audit, pending)
    status = _PASS if verdict.passed else _FAIL
    for name in pending:
        c = components[name]
        components[name] = Component(name, status, 1.0 if verdict.passed else 0.0,
                                     f"{c.rationale}; judge: {status.value}", {**c.details, UNDECIDED: True})
    return components, False


def vetoed(components: dict[str, Component]) -> Component | None:
    """The judge component when it vetoed the turn (an audit that failed), else None."""
    judged = components.get(JUDGE)
    return judged if judged is not None and judged.details.get(VETO) is True else None


def _judge_component(verdict: JudgeVerdict, audit: bool, decided: list[str]) -> Component:
    passed = verdict.passed
    text = (f"goal {verdict.goal:.2f}, process {verdict.process:.2f} → {verdict.score:.2f} "
            f"({'≥' if passed else '<'} 0.8): {verdict.rationale}")
    if audit:
        text = f"audit of a deterministic pass: {text}" + ("" if passed else " (veto: the turn fails)")
    return Component(JUDGE, _PASS if passed else _FAIL, verdict.score, text,
                     {**verdict.to_dict(), AUDIT: audit, VETO: audit and not passed, DECIDED: decided})


def _prompt(turn: Turn, gold: GoldOutcome, calls: Sequence[AgentCall], reply: str,
            fact_values: Sequence[Any] | None, request: str | None) -> str:
    values = fact_values or [f.value for f in turn.reply_facts]
    reference = {"expect_success": turn.expect_success, "expected_error": turn.expected_error,
                 "reply_facts": [{"label": f.label, "value": v} for f, v in zip(turn.reply_facts, values, strict=True)],
                 "gold_results": [r.to_dict() for r in gold.results]}
    return turn_prompt(request or turn.utterance,
                       [{"tool": c.tool, "arguments": c.arguments, "result": c.result.to_dict()} for c in calls],
                       reply, reference)
