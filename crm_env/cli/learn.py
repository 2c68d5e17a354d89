"""``crm-env learn``: the continual-learning loop (``run``), the uplift protocol (``evaluate``, ``report``), what
a run learned (``explain``), the event schema."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import get_args

from pydantic import ValidationError

from crm_env.cli.codes import EXIT_INFRA, EXIT_INTERRUPTED
from crm_env.errors import flag_error
from crm_env.eval.executor import add_executor_flags, check_executor_flags
from crm_env.learning.events import Lane

# CLI flag -> LearnConfig field; flags default to None so that "given" can be told apart on --resume.
_FIELDS = ("student", "model", "base_url", "timeout", "prices", "budget_usd", "teacher", "teacher_model",
           "teacher_base_url", "dataset", "split", "episodes", "lane", "memory", "memory_name", "seed", "backend",
           "budget_tokens", "import_memory", "judge_model", "judge_samples", "arbiter_model", "concurrency", "lag",
           "executor", "ray_address", "workers", "slots_per_worker")
STUDENTS = ("scripted", "claude", "openai")


def _student_flags(parser: argparse.ArgumentParser) -> None:
    """The student's flags, shared by ``learn run`` and ``learn evaluate``."""
    parser.add_argument("--student", choices=STUDENTS, default=None,
                        help="scripted (default; simulated, offline), claude ($ANTHROPIC_API_KEY) or openai "
                             "($OPENAI_API_KEY, or --base-url for any OpenAI-compatible server)")
    parser.add_argument("--model", default=None, help="the LLM student's model (its provider's default when absent)")
    parser.add_argument("--base-url", default=None, metavar="URL",
                        help="the provider endpoint: any OpenAI-compatible server for --student openai, or a proxy")
    parser.add_argument("--timeout", type=float, default=None, metavar="S", help="seconds per LLM request (default 60)")
    parser.add_argument("--prices", default=None, metavar="FILE", help="price table JSON (see crm-env eval --help)")
    parser.add_argument("--budget-usd", type=float, default=None, metavar="USD",
                        help="stop before the spend of every role would pass this (resume with a higher one)")


def register(subparsers: argparse._SubParsersAction) -> None:
    learn = subparsers.add_parser("learn", help="continual learning: run the teacher/student loop, explain its memory")
    actions = learn.add_subparsers(dest="learn_command", required=True)
    run = actions.add_parser(
        "run", help="play train episodes with a learning memory: a teacher proposes entries, the student gets them",
        description="The continual-learning loop. Writes events.jsonl, memory.db, memory.json, run.json and "
                    "summary.json into --output. Never reads the held-out test split.")
    _student_flags(run)
    run.add_argument("--teacher", choices=("rule", "placebo", "claude", "openai"), default=None,
                     help="rule (default; offline), placebo (the rule teacher's proposals with instructions that "
                          "address nothing), or an LLM: claude ($ANTHROPIC_API_KEY) or openai ($OPENAI_API_KEY)")
    run.add_argument("--teacher-model", default=None, help="the LLM teacher's model (its provider's default when absent)")
    run.add_argument("--teacher-base-url", default=None, metavar="URL", help="the LLM teacher's endpoint (or a proxy)")
    run.add_argument("--judge-model", default=None, metavar="PROVIDER:MODEL[@URL]",
                     help="LLM judges settle the learning verdict of turns the env did not fail (openai:MODEL or "
                          "anthropic:MODEL; @URL for an OpenAI-compatible server); default: the env's verdict")
    run.add_argument("--judge-samples", type=int, default=None, metavar="K", help="judge samples per turn (default 3)")
    run.add_argument("--arbiter-model", default=None, metavar="PROVIDER:MODEL[@URL]",
                     help="grades a turn when the judge's samples disagree by more than 0.3")
    run.add_argument("--dataset", default=None, help="packaged dataset or JSONL path (default arc-crm-1200)")
    run.add_argument("--split", default=None, help="split of a packaged dataset (default train; test is refused)")
    run.add_argument("--episodes", type=int, default=None, metavar="N", help="episodes to play (default 300)")
    run.add_argument("--lane", choices=get_args(Lane), default=None,
                     help="coach (default): guidance injected before each turn; paired: coach, and the teacher "
                          "reviews each proposed write before the CRM sees it; escalate: coach, and the teacher takes "
                          "a turn over after the student's repeated failure on its cue; adaptive: per turn, from the "
                          "student's success on the cue; auto: the student alone")
    run.add_argument("--memory", default=None, metavar="URL",
                     help="learning memory: sqlite:///FILE or postgresql+psycopg://... (default: DIR/memory.db)")
    run.add_argument("--memory-name", default=None, metavar="NAME",
                     help="which memory of that database (default 'default'); one per learning run")
    run.add_argument("--import-memory", default=None, metavar="FILE",
                     help="load a memory export (memory.json) into the empty memory before the first episode")
    run.add_argument("--seed", type=int, default=None, help="run seed: episode order, student, holdout (default 0)")
    run.add_argument("--backend", default=None, metavar="URL", help="CRM backend: memory (default) or a SQL URL")
    run.add_argument("--budget-tokens", type=int, default=None, help="playbook tokens per turn (default 300)")
    run.add_argument("--concurrency", type=int, default=None, metavar="N",
                     help="episodes played at once (default 1); never changes what the run learns or writes")
    run.add_argument("--lag", type=int, default=None, metavar="L",
                     help="each episode plays with what was learned up to L + 1 episodes before it (default 0: the "
                          "one just before), so up to L + 1 episodes can run at once")
    add_executor_flags(run)
    run.add_argument("--output", required=True, metavar="DIR", help="run directory")
    run.add_argument("--resume", action="store_true", help="continue the run in --output after its last whole episode")
    run.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    run.set_defaults(run=run_learn)

    evaluate = actions.add_parser(
        "evaluate", help="the uplift protocol: baseline, learning in R orderings, frozen memory and placebo on the "
                         "held-out test split, with paired CIs",
        description="Runs the pre-registered uplift protocol (README: Measuring uplift) into --output: baseline/, "
                    "learning-R/, frozen-R/, placebo-R/, then summary.json and report.md. Learning reads only "
                    "the train split; the held-out test split is read by the evaluations alone.")
    for flag, kind, text in (("--orderings", int, "learning orderings, each from an empty memory (default 3)"),
                             ("--episodes", int, "learning episodes per ordering (default 300)"),
                             ("--trials", int, "trials per held-out conversation, for pass^k (default 3)"),
                             ("--sample", int, "a seeded sample of the held-out conversations (default: all 200)"),
                             ("--seed", int, "protocol seed: orderings use SEED, SEED+1, ... (default 0)"),
                             ("--concurrency", int, "episodes in flight per evaluation (default 8)"),
                             ("--budget-tokens", int, "playbook tokens per turn (default 300)"),
                             ("--ablate", int, "entries ablated per ordering, the most injected first (default 3)"),
                             ("--probe", int, ("train conversations re-scored after each learning window, for "
                                               "forgetting (default 20; 0: none)"))):
        evaluate.add_argument(flag, type=kind, default=None, metavar="N", help=text)
    evaluate.add_argument("--hold-out-intents", default=None, metavar="A,B",
                          help="intents never learned from (transfer); their held-out score is reported apart")
    _student_flags(evaluate)
    evaluate.add_argument("--backend", default=None, metavar="URL", help="CRM backend: memory (default) or a SQL URL")
    evaluate.add_argument("--output", required=True, metavar="DIR", help="protocol directory")
    evaluate.add_argument("--resume", action="store_true", help="continue the protocol in --output where it stopped")
    evaluate.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")
    evaluate.set_defaults(run=run_evaluate)

    report = actions.add_parser("report", help="recompute a protocol's summary.json and report.md from its raw files")
    report.add_argument("run_dir", metavar="RUN_DIR")
    report.set_defaults(run=run_report)

    pack = actions.add_parser("bundle", help="pack a finished protocol run into a verifiable .tar.gz hand-off bundle")
    pack.add_argument("run_dir", metavar="RUN_DIR")
    pack.add_argument("target", metavar="OUT.tar.gz")
    pack.set_defaults(run=run_bundle)

    check = actions.add_parser("verify", help="check a bundle: file hashes, and every figure recomputed from its raw files")
    check.add_argument("bundle", metavar="BUNDLE.tar.gz")
    check.set_defaults(run=run_verify)

    explain = actions.add_parser("explain", help="what a run's memory says, where each entry came from, its impact")
    explain.add_argument("run_dir", metavar="RUN_DIR")
    explain.add_argument("--entry", default=None, metavar="ID", help="one entry in full (its id or a unique prefix)")
    explain.set_defaults(run=run_explain)

    schema = actions.add_parser("schema", help="print the JSON schema of a line of events.jsonl")
    schema.set_defaults(run=run_schema)


def run_learn(args: argparse.Namespace) -> int:
    from crm_env.learning.run import LearnConfig, run_learning

    given = {name: getattr(args, name) for name in _FIELDS if getattr(args, name) is not None}
    check_executor_flags(given)
    if args.dataset is not None and args.split is None and not args.resume:
        given["split"] = None  # a dataset named without a split is read whole (checked for held-out ones)
    try:
        config = LearnConfig(**given)
    except ValidationError as exc:
        raise flag_error(exc) from None
    return _stoppable(lambda: run_learning(config, Path(args.output), resume=args.resume, given=given,
                                          progress=not args.no_progress))


def _stoppable(run: Callable[[], object]) -> int:
    """Run a learning run or protocol: exit 3 when it stopped part-way, 130 on Ctrl-C (both resumable)."""
    from crm_env.learning.run import RunStopped

    try:
        run()
    except RunStopped as exc:
        print(f"crm-env: stopped: {exc}", file=sys.stderr)
        return EXIT_INFRA
    except KeyboardInterrupt:
        print("\ninterrupted: every finished episode is saved; continue with the same command and --resume",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


_PROTOCOL_FIELDS = ("orderings", "episodes", "trials", "sample", "seed", "concurrency", "budget_tokens", "ablate",
                    "probe", "student", "model", "base_url", "timeout", "prices", "budget_usd", "backend")


def run_evaluate(args: argparse.Namespace) -> int:
    from crm_env.learning.protocol import ProtocolConfig, run_protocol

    given = {name: getattr(args, name) for name in _PROTOCOL_FIELDS if getattr(args, name) is not None}
    if args.hold_out_intents is not None:
        given["hold_out_intents"] = tuple(i.strip() for i in args.hold_out_intents.split(",") if i.strip())
    try:
        config = ProtocolConfig(**given)
    except ValidationError as exc:
        raise flag_error(exc) from None
    given = {name: getattr(config, name) for name in given}  # as validated ("create quote" -> CREATE QUOTE)
    return _stoppable(lambda: run_protocol(config, Path(args.output), resume=args.resume, given=given,
                                           progress=not args.no_progress))


def run_report(args: argparse.Namespace) -> int:
    from crm_env.learning.protocol import write_report
    from crm_env.learning.uplift_report import headline

    summary = write_report(Path(args.run_dir))
    print(headline(summary))
    print(f"written: {Path(args.run_dir) / 'summary.json'}, {Path(args.run_dir) / 'report.md'}")
    return 0


def run_bundle(args: argparse.Namespace) -> int:
    from crm_env.learning.bundle import bundle

    target = bundle(Path(args.run_dir), Path(args.target))
    print(f"bundle: {target} ({target.stat().st_size:,} bytes); check it with: crm-env learn verify {target}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from crm_env.learning.bundle import simulated, verify

    problems = verify(Path(args.bundle))
    for problem in problems:
        print(f"MISMATCH {problem}")
    if problems:
        print(f"{args.bundle}: {len(problems)} problem(s); the bundle does not verify")
        return 1
    print(f"{args.bundle}: verified (every file matches its manifest hash; every figure recomputes from the raw files)"
          + ("; a SIMULATED run: its figures test the machinery, not a model" if simulated(Path(args.bundle)) else ""))
    return 0


def run_explain(args: argparse.Namespace) -> int:
    from crm_env.learning.explain import explain

    print(explain(Path(args.run_dir), args.entry))
    return 0


def run_schema(args: argparse.Namespace) -> int:
    from crm_env.learning.events import event_schema

    print(json.dumps(event_schema(), indent=1, sort_keys=True))
    return 0
