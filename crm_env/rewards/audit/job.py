"""``crm-env reward audit``: load and lint a dataset, play every family, print the table, write the files.

The output directory gets ``trajectories.jsonl`` (one labelled trajectory per line: family, label, the
judged turn, the actions, the verdict, the outcome and every component that did not pass, with its
rationale) and ``summary.json`` (the configuration and the per-family table with its gates). Nothing is
created before the dataset has loaded and linted cleanly.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO

from crm_env.errors import ConfigError
from crm_env.eval.config import mask_url, write_json_atomic, write_text_atomic
from crm_env.rewards.audit.families import FAMILIES
from crm_env.rewards.audit.runner import PER_FAMILY, Trajectory, run_audit, slots, table, tally


def load_checked(dataset: str, split: str | None) -> list[Any]:
    """The dataset's conversations, refused unless they lint cleanly.

    Raises:
        DatasetError: Unknown dataset or split, or an unreadable file.
        ConfigError: Lint findings (the first few named).
    """
    from crm_env.datasets import load
    from crm_env.datasets.lint import lint

    conversations = load(dataset, split=split)
    if not conversations:
        raise ConfigError(f"{dataset} has no conversations to audit")
    findings = lint(conversations)
    if findings:
        first = "; ".join(f"{f.conversation_id} turn {f.turn_id}: {f.message}" for f in findings[:3])
        raise ConfigError(f"{dataset} fails lint ({len(findings)} finding(s): {first}); an audit of a wrong "
                          "reference measures nothing: fix the data (`crm-env dataset validate`) first")
    return conversations


def audit_job(dataset: str, split: str | None, output: Path, *, backend: str = "memory",
              per_family: int = PER_FAMILY, seed: int = 0, progress: bool = True, stream: TextIO | None = None,
              console: TextIO | None = None) -> list[dict[str, Any]]:
    """Run the audit and write its files; returns the per-family rows (see the module docstring)."""
    from crm_env.eval.progress import Progress

    console = console or sys.stdout
    conversations = load_checked(dataset, split)
    planned = sum(min(per_family, sum(1 for _ in slots(conversations, f, seed))) for f in FAMILIES)
    output.mkdir(parents=True, exist_ok=True)
    bar = Progress(planned, stream=stream, enabled=progress, label="audit")
    lines: list[str] = []

    def record(trajectory: Trajectory) -> None:
        lines.append(json.dumps(trajectory.to_dict(), sort_keys=True, default=str))
        bar.update(strict=trajectory.outcome == "correct", cost=0.0, infra=False)

    try:
        trajectories = run_audit(conversations, backend=backend, per_family=per_family, seed=seed,
                                 on_trajectory=record)
    finally:
        bar.close()
    rows = tally(trajectories)
    write_text_atomic(output / "trajectories.jsonl", "\n".join(lines))
    write_json_atomic(output / "summary.json", {
        "dataset": dataset, "split": split, "backend": mask_url(backend), "per_family": per_family, "seed": seed,
        "trajectories": len(trajectories), "intents": len({t.intent for t in trajectories}), "families": rows})
    failed = [r["family"] for r in rows if r["gate"] == "FAIL"]
    print(table(rows), file=console)
    print(f"\n{len(trajectories)} trajectories over {len({t.intent for t in trajectories})} intents; "
          + (f"gates FAILED: {', '.join(failed)}" if failed else "every gate holds")
          + f"\nwritten: {output / 'trajectories.jsonl'}", file=console, flush=True)
    return rows

