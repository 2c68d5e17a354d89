"""Findings: what lint, replay and the importer report, one row per problem, and their table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict


class Finding(BaseModel):
    """One problem in one conversation (turn 0 means the conversation as a whole)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    conversation_id: str
    turn_id: int = 0
    check: str
    message: str
    severity: str = "error"  # "error": the conversation is unsound; "fixed": converted with a repair

    def row(self) -> str:
        return f"{self.conversation_id}\t{self.turn_id}\t{self.severity}\t{self.check}\t{self.message}"


def table(findings: Iterable[Finding], limit: int = 50) -> str:
    """A readable table: counts per check, then the first ``limit`` findings."""
    rows = list(findings)
    if not rows:
        return "no findings"
    counts = Counter((f.severity, f.check) for f in rows)
    width = max(len(check) for _, check in counts)
    lines = ["severity  " + "check".ljust(width) + "  count"]
    lines += [f"{sev:<8}  {check.ljust(width)}  {n:>5}" for (sev, check), n in sorted(counts.items())]
    lines.append("")
    lines.append("conversation\tturn\tseverity\tcheck\tmessage")
    lines += [f.row() for f in rows[:limit]]
    if len(rows) > limit:
        lines.append(f"... and {len(rows) - limit} more")
    return "\n".join(lines)
