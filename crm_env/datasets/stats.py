"""The mix of a dataset: complexity, workflows, intents, write share, negative share, failure categories."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from crm_env.datasets.format import Conversation
from crm_env.datasets.intents import TaskIntent
from crm_env.errors import CrmEnvError


@dataclass
class DatasetStats:
    conversations: int = 0
    turns: int = 0
    write_turns: int = 0
    negative_turns: int = 0
    conversations_with_negative: int = 0
    cross_entity: int = 0
    complexity: Counter = field(default_factory=Counter)
    workflows: Counter = field(default_factory=Counter)
    intents: Counter = field(default_factory=Counter)  # turns per intent
    intent_conversations: Counter = field(default_factory=Counter)  # conversations containing the intent
    failures: Counter = field(default_factory=Counter)

    @property
    def write_share(self) -> float:
        return self.write_turns / self.turns if self.turns else 0.0

    @property
    def negative_share(self) -> float:
        """Share of conversations with a negative turn."""
        return self.conversations_with_negative / self.conversations if self.conversations else 0.0

    def complexity_share(self, name: str) -> float:
        return self.complexity[name] / self.conversations if self.conversations else 0.0

    @property
    def min_intent_count(self) -> int:
        return min(self.intent_conversations.get(i, 0) for i in TaskIntent)

    def to_text(self) -> str:
        pct = lambda n, d: f"{100 * n / d:5.1f} %" if d else "  n/a"  # noqa: E731
        lines = [
            f"conversations        {self.conversations}",
            f"turns                {self.turns} ({self.turns / max(self.conversations, 1):.2f} per conversation)",
            f"write turns          {self.write_turns} ({pct(self.write_turns, self.turns)})",
            f"negative turns       {self.negative_turns}; conversations with one: "
            f"{self.conversations_with_negative} ({pct(self.conversations_with_negative, self.conversations)})",
            f"cross-entity         {self.cross_entity} ({pct(self.cross_entity, self.conversations)})",
            "",
            "complexity",
        ]
        lines += [f"  {k:<10} {v:>6}  {pct(v, self.conversations)}" for k, v in sorted(self.complexity.items())]
        lines += ["", "workflows"]
        lines += [f"  {k:<30} {v:>6}" for k, v in self.workflows.most_common()]
        lines += ["", f"intents (turns / conversations; min conversations per intent {self.min_intent_count})"]
        lines += [f"  {i.value:<26} {self.intents.get(i, 0):>6} {self.intent_conversations.get(i, 0):>6}"
                  for i in TaskIntent]
        if self.failures:
            lines += ["", "failure categories"]
            lines += [f"  {k:<20} {v:>6}" for k, v in sorted(self.failures.items())]
        return "\n".join(lines)


def stats(conversations: Sequence[Conversation]) -> DatasetStats:
    out = DatasetStats()
    for conversation in conversations:
        out.conversations += 1
        out.complexity[conversation.complexity.value] += 1
        out.workflows[conversation.workflow.value] += 1
        out.cross_entity += conversation.workflow.value == "Cross-Entity"
        negative = False
        for turn in conversation.turns:
            out.turns += 1
            out.intents[turn.intent] += 1
            try:
                out.write_turns += turn.is_write
            except CrmEnvError:  # an unknown tool (e.g. in an imported file) counts as a read
                pass
            if not turn.expect_success:
                negative = True
                out.negative_turns += 1
                out.failures[turn.failure_category.value if turn.failure_category else "?"] += 1
        for intent in {t.intent for t in conversation.turns}:
            out.intent_conversations[intent] += 1
        out.conversations_with_negative += negative
    return out
