"""Running the audit: a seeded sample of slots per family, played through the env, tallied and gated.

Slots (a conversation's turn where the family applies) are drawn per family in a seeded order that takes
the intents in turn, so every intent the family can reach is covered before any is taken twice; a slot
whose episode does not offer what the policy needs is skipped. Outcomes: a good trajectory that passes,
or a bad one that fails, is *correct*; a bad one that passes is a *false pass*; a good one that fails is a
*false fail*, or *undecided* when the only components that did not pass are undecided (no judge).

Gates: no false pass in any bad family; at most ``MAX_FALSE_FAILS`` of a good family's
trajectories false fails or undecided (judge off, an undecided turn is not a success). A family the
dataset offers no slot for (eval-400 has no turn with two independent calls) reports "n/a".
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from crm_env.datasets.format import Conversation
from crm_env.rewards.audit.families import FAMILIES, Family, NotApplicable
from crm_env.rewards.audit.play import play

PER_FAMILY = 120
MAX_FALSE_FAILS = 0.02
OUTCOMES = ("correct", "false_pass", "false_fail", "undecided")


@dataclass(frozen=True)
class Trajectory:
    """One labelled trajectory and the env's verdict of it (a line of ``trajectories.jsonl``)."""

    family: str
    label: str
    conversation_id: str
    turn_id: int
    intent: str
    actions: list[dict[str, Any]]
    success: bool
    outcome: str
    failed: dict[str, str]  # component -> its rationale, for every component that did not pass

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def slots(conversations: Sequence[Conversation], family: Family, seed: int) -> Iterator[tuple[Conversation, int]]:
    """The family's slots in its seeded, intent-interleaved order."""
    by_intent: dict[str, list[tuple[Conversation, int]]] = {}
    for conv in conversations:
        last = len(conv.turns) - 1 if family.judge_next else len(conv.turns)
        for index, turn in enumerate(conv.turns[:last]):
            if family.applies(conv, turn):
                by_intent.setdefault(turn.intent.value, []).append((conv, index))
    rng = random.Random(f"{seed}:{family.name}")
    queues = []
    for intent in sorted(by_intent):
        rng.shuffle(by_intent[intent])
        queues.append(by_intent[intent])
    depth = 0
    while any(depth < len(q) for q in queues):
        for queue in queues:
            if depth < len(queue):
                yield queue[depth]
        depth += 1


def _outcome(label: str, success: bool, breakdown: dict[str, Any]) -> str:
    if label == "bad":
        return "false_pass" if success else "correct"
    if success:
        return "correct"
    statuses = {c.get("status") for c in breakdown.values()} - {"pass", "skipped", "not_applicable"}
    return "undecided" if statuses == {"undecided"} else "false_fail"


def run_audit(conversations: Sequence[Conversation], *, backend: str = "memory", per_family: int = PER_FAMILY,
              seed: int = 0, families: Sequence[Family] = FAMILIES,
              on_trajectory: Callable[[Trajectory], None] | None = None) -> list[Trajectory]:
    """Play up to ``per_family`` trajectories of each family; every one, in family order."""
    from crm_env.envs.env import CrmEnv

    env = CrmEnv(dataset=list(conversations), split=None, backend=backend, reveal_reference=True,
                 conversation_seed=None)
    out: list[Trajectory] = []
    try:
        for family in families:
            taken = 0
            for conv, index in slots(conversations, family, seed):
                if taken == per_family:
                    break
                try:
                    played = play(env, conv, index, family.policy, family.judge_next, seed, family.then)
                except NotApplicable:
                    continue
                trajectory = Trajectory(
                    family=family.name, label=family.label, conversation_id=conv.conversation_id,
                    turn_id=played.judged_turn, intent=conv.turns[index + family.judge_next].intent.value,
                    actions=played.actions, success=played.success,
                    outcome=_outcome(family.label, played.success, played.breakdown),
                    failed={name: str(c.get("rationale", "")) for name, c in played.breakdown.items()
                            if c.get("status") not in ("pass", "skipped", "not_applicable")})
                out.append(trajectory)
                taken += 1
                if on_trajectory is not None:
                    on_trajectory(trajectory)
    finally:
        env.close()
    return out


def tally(trajectories: Sequence[Trajectory], families: Sequence[Family] = FAMILIES) -> list[dict[str, Any]]:
    """Per family: its label, n, each outcome's count, and whether its gate holds."""
    rows = []
    for family in families:
        mine = [t for t in trajectories if t.family == family.name]
        counts = {o: sum(t.outcome == o for t in mine) for o in OUTCOMES}
        if family.label == "bad":
            gate = counts["false_pass"] == 0
        else:
            gate = (counts["false_fail"] + counts["undecided"]) <= MAX_FALSE_FAILS * len(mine)
        rows.append({"family": family.name, "label": family.label, "n": len(mine), **counts,
                     "gate": "n/a" if not mine else ("pass" if gate else "FAIL")})
    return rows


def table(rows: Sequence[dict[str, Any]]) -> str:
    """The per-family table (Markdown)."""
    lines = ["| family | label | n | correct | false passes | false fails | undecided | gate |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    lines += [f"| {r['family']} | {r['label']} | {r['n']} | {r['correct']} | {r['false_pass']} | {r['false_fail']} | "
              f"{r['undecided']} | {r['gate']} |" for r in rows]
    return "\n".join(lines)
