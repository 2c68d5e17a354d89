"""Oracle replay: play every conversation's gold calls turn by turn through ``CrmSandbox``.

A turn that must succeed passes when all its calls succeed; its results bind the turn's fields for
later ``{{turn_N.field}}`` references. A negative turn passes when its last call fails with the
expected error kind and the CRM is unchanged (no change logged; with ``strict``, the snapshot is
compared too).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from crm_env.datasets.findings import Finding
from crm_env.datasets.format import (
    Conversation,
    Turn,
    UnresolvedReference,
    bindings_from,
    resolve,
)
from crm_env.errors import CrmEnvError
from crm_env.sandbox import CrmSandbox, ToolResult

# Called before each gold call with (conversation, turn, resolved arguments, sandbox) and after the turn
# with its results; lint uses these hooks to inspect the state the calls meet.
BeforeCall = Callable[[Conversation, Turn, str, dict[str, Any], CrmSandbox], list[Finding]]
AfterTurn = Callable[[Conversation, Turn, list[ToolResult], CrmSandbox], list[Finding]]


@dataclass
class ReplayReport:
    conversations: int = 0
    turns: int = 0
    failed_turns: int = 0
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)

    @property
    def success_rate(self) -> float:
        return 1.0 if self.turns == 0 else (self.turns - self.failed_turns) / self.turns


def play(
    conversation: Conversation,
    sandbox: CrmSandbox,
    *,
    strict: bool = False,
    before_call: BeforeCall | None = None,
    after_turn: AfterTurn | None = None,
) -> tuple[int, list[Finding]]:
    """Replay one conversation; return the number of failed turns and the findings."""
    cid = conversation.conversation_id
    try:
        sandbox.reset(as_of=conversation.as_of, records=conversation.initial_seed(), seed=0)
    except CrmEnvError as exc:
        return len(conversation.turns), [Finding(conversation_id=cid, check="seed", message=str(exc))]
    bindings: dict[int, dict[str, Any]] = {}
    findings: list[Finding] = []
    failed = 0
    referenced = conversation.referenced_turns
    for turn in conversation.turns:
        problems: list[Finding] = []

        def problem(check: str, message: str, turn: Turn = turn) -> None:
            problems.append(Finding(conversation_id=cid, turn_id=turn.turn_id, check=check, message=message))

        mark = len(sandbox.changes)
        before = sandbox.snapshot() if strict and not turn.expect_success else None
        results: list[ToolResult] = []
        for call in turn.gold_calls:
            try:
                args = resolve(call.arguments, bindings) if call.has_references else call.arguments
            except UnresolvedReference as exc:
                problem("reference", str(exc))
                break
            if before_call is not None:
                problems.extend(before_call(conversation, turn, call.tool, args, sandbox))
            results.append(sandbox.call(call.tool, args))
        if len(results) == len(turn.gold_calls):
            if turn.expect_success:
                for result in results:
                    if not result.ok:
                        problem("replay", f"{result.tool} failed: {result.error_type}: {result.error}")
                if turn.turn_id in referenced and all(r.ok for r in results):
                    bindings[turn.turn_id] = bindings_from([r.data for r in results])
            else:
                last = results[-1]
                if last.ok:
                    problem("negative", f"{last.tool} succeeded but must be refused with {turn.expected_error}")
                elif last.error_type != turn.expected_error:
                    problem("negative", f"{last.tool} failed with {last.error_type}, expected {turn.expected_error}")
                if len(sandbox.changes) != mark or (before is not None and sandbox.snapshot() != before):
                    problem("negative", "the refused turn changed the CRM")
            if after_turn is not None:
                problems.extend(after_turn(conversation, turn, results, sandbox))
        if any(p.check in ("reference", "replay", "negative") for p in problems):
            failed += 1
        findings.extend(problems)
    return failed, findings


def replay(
    conversations: Iterable[Conversation],
    backend: str = "memory",
    *,
    strict: bool = False,
    sandbox: CrmSandbox | None = None,
) -> ReplayReport:
    """Replay conversations on a backend URL (``memory``, ``sqlite://``, ``postgresql+psycopg://...``)."""
    own = sandbox is None
    box = sandbox if sandbox is not None else CrmSandbox(backend)
    report = ReplayReport()
    start = time.perf_counter()
    try:
        for conversation in conversations:
            failed, findings = play(conversation, box, strict=strict)
            report.conversations += 1
            report.turns += len(conversation.turns)
            report.failed_turns += failed
            report.findings.extend(findings)
    finally:
        report.seconds = time.perf_counter() - start
        if own:
            box.close()
    return report
