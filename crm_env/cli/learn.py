"""``crm-env learn``: the continual-learning loop (``run``), what it learned (``explain``), the event schema."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pydantic import ValidationError

from crm_env.cli.codes import EXIT_INTERRUPTED
from crm_env.errors import flag_error

# CLI flag -> LearnConfig field; flags default to None so that "given" can be told apart on --resume.
_FIELDS = ("student", "teacher", "dataset", "split", "episodes", "lane", "memory", "memory_name", "seed", "backend",
           "budget_tokens", "import_memory")


def register(subparsers: argparse._SubParsersAction) -> None:
    learn = subparsers.add_parser("learn", help="continual learning: run the teacher/student loop, explain its memory")
    actions = learn.add_subparsers(dest="learn_command", required=True)
    run = actions.add_parser(
        "run", help="play train episodes with a learning memory: a teacher proposes entries, the student gets them",
        description="The continual-learning loop. Writes events.jsonl, memory.db, memory.json, run.json and "
                    "summary.json into --output. Never reads the held-out test split.")
    run.add_argument("--student", choices=("scripted",), default=None, help="the student (scripted: simulated)")
    run.add_argument("--teacher", choices=("rule", "placebo"), default=None,
                     help="rule (default), or placebo: the same proposals with instructions that address nothing")
    run.add_argument("--dataset", default=None, help="packaged dataset or JSONL path (default arc-crm-1200)")
    run.add_argument("--split", default=None, help="split of a packaged dataset (default train; test is refused)")
    run.add_argument("--episodes", type=int, default=None, metavar="N", help="episodes to play (default 300)")
    run.add_argument("--lane", choices=("auto", "coach"), default=None,
                     help="coach (default): guidance injected before each turn; auto: the student alone")
    run.add_argument("--memory", default=None, metavar="URL",
                     help="learning memory: sqlite:///FILE or postgresql+psycopg://... (default: DIR/memory.db)")
    run.add_argument("--memory-name", default=None, metavar="NAME",
                     help="which memory of that database (default 'default'); one per learning run")
    run.add_argument("--import-memory", default=None, metavar="FILE",
                     help="load a memory export (memory.json) into the empty memory before the first episode")
    run.add_argument("--seed", type=int, default=None, help="run seed: episode order, student, holdout (default 0)")
    run.add_argument("--backend", default=None, metavar="URL", help="CRM backend: memory (default) or a SQL URL")
    run.add_argument("--budget-tokens", type=int, default=None, help="playbook tokens per turn (default 300)")
    run.add_argument("--output", required=True, metavar="DIR", help="run directory")
    run.add_argument("--resume", action="store_true", help="continue the run in --output after its last whole episode")
    run.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    run.set_defaults(run=run_learn)

    explain = actions.add_parser("explain", help="what a run's memory says, where each entry came from, its impact")
    explain.add_argument("run_dir", metavar="RUN_DIR")
    explain.add_argument("--entry", default=None, metavar="ID", help="one entry in full (its id or a unique prefix)")
    explain.set_defaults(run=run_explain)

    schema = actions.add_parser("schema", help="print the JSON schema of a line of events.jsonl")
    schema.set_defaults(run=run_schema)


def run_learn(args: argparse.Namespace) -> int:
    from crm_env.learning.run import LearnConfig, run_learning

    given = {name: getattr(args, name) for name in _FIELDS if getattr(args, name) is not None}
    if args.dataset is not None and args.split is None and not args.resume:
        given["split"] = None  # a dataset named without a split is read whole (checked for held-out ones)
    try:
        config = LearnConfig(**given)
    except ValidationError as exc:
        raise flag_error(exc) from None
    try:
        run_learning(config, Path(args.output), resume=args.resume, given=given, progress=not args.no_progress)
    except KeyboardInterrupt:
        print("\ninterrupted: every finished episode is saved; continue with the same command and --resume",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def run_explain(args: argparse.Namespace) -> int:
    from crm_env.learning.explain import explain

    print(explain(Path(args.run_dir), args.entry))
    return 0


def run_schema(args: argparse.Namespace) -> int:
    from crm_env.learning.events import event_schema

    print(json.dumps(event_schema(), indent=1, sort_keys=True))
    return 0
