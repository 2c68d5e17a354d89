"""``crm-env reward audit``: the labelled reward audit (``crm_env.rewards.audit``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from crm_env.errors import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    reward = subparsers.add_parser("reward", help="check the reward itself: the labelled audit")
    actions = reward.add_subparsers(dest="reward_command", required=True)
    audit = actions.add_parser(
        "audit", help="play labelled good and bad trajectories through the env; count false passes and fails",
        description="Families of trajectories whose correct verdict is known (good: must pass; bad: must fail), "
                    "played through CrmEnv.reset/step. Prints the per-family table and writes trajectories.jsonl "
                    "and summary.json. Exit code 1 when a gate fails, 2 on bad input.")
    audit.add_argument("--dataset", default="arc-crm-1200", help="packaged dataset or JSONL path (default arc-crm-1200)")
    audit.add_argument("--split", default=None, help="split of a packaged dataset (default eval-400 for arc-crm-1200)")
    audit.add_argument("--backend", default="memory", metavar="URL", help="memory (default), sqlite:///..., postgresql+psycopg://...")
    audit.add_argument("--per-family", type=int, default=None, metavar="N", help="trajectories per family (default 120)")
    audit.add_argument("--seed", type=int, default=0, help="which slots each family plays (default 0)")
    audit.add_argument("--output", default=None, metavar="DIR", help="where the files go (default runs/reward-audit-DATASET-SPLIT)")
    audit.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    audit.set_defaults(run=run_audit_command)


def run_audit_command(args: argparse.Namespace) -> int:
    from crm_env.rewards.audit.job import audit_job
    from crm_env.rewards.audit.runner import PER_FAMILY

    per_family = PER_FAMILY if args.per_family is None else args.per_family
    if per_family < 1:
        raise ConfigError("--per-family must be at least 1")
    split = args.split if args.split is not None else ("eval-400" if args.dataset == "arc-crm-1200" else None)
    name = Path(args.dataset).name.split(".")[0]
    output = Path(args.output) if args.output else Path("runs") / f"reward-audit-{name}-{split or 'all'}"
    rows = audit_job(args.dataset, split, output, backend=args.backend, per_family=per_family, seed=args.seed,
                     progress=not args.no_progress)
    return 1 if any(r["gate"] == "FAIL" for r in rows) else 0
