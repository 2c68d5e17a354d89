"""``crm-env eval``, ``crm-env report RUN_DIR`` and ``crm-env compare RUN_A RUN_B``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pydantic import ValidationError

from crm_env.cli.codes import EXIT_INFRA, EXIT_INTERRUPTED
from crm_env.errors import ConfigError, flag_error
from crm_env.eval.config import LLM_AGENTS, RunConfig
from crm_env.eval.executor import add_executor_flags, check_executor_flags
from crm_env.rewards.arbiter import JUDGE_MODES

# CLI flag → RunConfig field. Flags default to None so that "given explicitly" can be told apart
# from "left at its default" (a resumed run keeps its recorded values for flags not given).
_FIELDS = ("agent", "model", "base_url", "dataset", "split", "conversations", "sample", "seed", "backend", "trials",
           "concurrency", "output", "temperature", "max_output_tokens", "judge", "judge_model", "judge_mode",
           "judge_audit_rate", "budget_usd", "prices", "max_tool_calls", "timeout", "executor", "ray_address",
           "workers", "slots_per_worker")


def register(subparsers: argparse._SubParsersAction) -> None:
    d = RunConfig.model_fields
    p = subparsers.add_parser(
        "eval", help="evaluate an agent on a dataset (concurrent, resumable) and write results, summary and report",
        description="Evaluate an agent. With no flags: the simulated scripted agent on arc-crm-1200/eval-400 in "
                    "memory. Writes results.jsonl, run.json, summary.json, report.md and plots into --output.")
    p.add_argument("--agent", choices=("replay", "scripted", "claude", "openai"), default=None,
                   help="replay (oracle), scripted (simulated mistakes), claude, openai (default: scripted)")
    p.add_argument("--model", default=None, help="model name (claude / openai agents)")
    p.add_argument("--base-url", default=None, help="OpenAI-compatible server URL (vLLM, Ollama...)")
    p.add_argument("--dataset", default=None, help=f"packaged dataset or JSONL path (default {d['dataset'].default})")
    p.add_argument("--split", default=None,
                   help=f"split of arc-crm-1200 (default {d['split'].default}; 'test' is held out for the "
                        "final evaluation: nothing may learn or tune on it); other datasets are read whole")
    p.add_argument("--conversations", default=None, metavar="PATH", help="a conversations JSONL file to evaluate")
    p.add_argument("--sample", type=int, default=None, metavar="N", help="evaluate a seeded sample of N conversations")
    p.add_argument("--seed", type=int, default=None, help="run seed: sampling, agents, bootstrap (default 0)")
    p.add_argument("--backend", default=None, metavar="URL", help="memory (default), sqlite:///..., postgresql+psycopg://...")
    p.add_argument("--trials", type=int, default=None, metavar="K", help="trials per conversation, for pass^k (default 1)")
    p.add_argument("--concurrency", type=int, default=None, metavar="N", help=f"episodes in flight (default {d['concurrency'].default})")
    p.add_argument("--output", default=None, metavar="DIR",
                   help="run directory (default runs/AGENT-MODEL-YYYYMMDD-HHMMSS, with -2, -3... if taken)")
    p.add_argument("--resume", action="store_true", help="continue the run in --output: skip completed episodes, retry failed ones")
    p.add_argument("--temperature", type=float, default=None)
    p.add_argument("--max-output-tokens", type=int, default=None)
    p.add_argument("--judge", action=argparse.BooleanOptionalAction, default=None,
                   help="consult an LLM judge on turns the deterministic checks cannot decide (default: off)")
    p.add_argument("--judge-model", default=None, help="'openai:MODEL[@URL]', 'anthropic:MODEL' or a model name")
    p.add_argument("--judge-mode", choices=JUDGE_MODES, default=None,
                   help="with --judge: 'undecided' (default) decides every check the deterministic ones leave "
                        "undecided, also on turns that failed otherwise; 'audit' also grades a seeded sample of "
                        "passing turns and may veto them")
    p.add_argument("--judge-audit-rate", type=float, default=None, metavar="RATE",
                   help=f"share of passing turns audited with --judge-mode audit (default {d['judge_audit_rate'].default})")
    p.add_argument("--budget-usd", type=float, default=None, help="stop starting episodes once the projected spend would pass this")
    p.add_argument("--prices", default=None, metavar="FILE", help="JSON price overrides (see crm_env.eval.prices)")
    p.add_argument("--max-tool-calls", type=int, default=None, help="tool-call budget per turn (default 10)")
    p.add_argument("--timeout", type=float, default=None, help="seconds per provider request (default 60)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    add_executor_flags(p)
    p.set_defaults(run=run_eval_command)

    r = subparsers.add_parser("report", help="regenerate summary.json and report.md of a run from its results.jsonl")
    r.add_argument("run_dir", metavar="RUN_DIR")
    r.set_defaults(run=run_report)

    c = subparsers.add_parser("compare", help="compare two runs on their shared conversations (deltas with paired CIs)")
    c.add_argument("run_a", metavar="RUN_A")
    c.add_argument("run_b", metavar="RUN_B")
    c.add_argument("--output", default=None, metavar="FILE", help="also write the comparison (Markdown) here")
    c.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    c.set_defaults(run=run_compare)


def given_flags(args: argparse.Namespace) -> dict[str, object]:
    given = {name: getattr(args, name) for name in _FIELDS if getattr(args, name, None) is not None}
    if args.no_progress:
        given["progress"] = False
    return given


def run_eval_command(args: argparse.Namespace) -> int:
    from crm_env.eval.job import run_eval

    given = given_flags(args)
    if given.get("conversations") and ("dataset" in given or "split" in given):
        raise ConfigError("--conversations replaces --dataset / --split; give one or the other")
    check_executor_flags(given)
    if given.get("conversations"):
        given.setdefault("split", None)
    elif given.get("dataset") not in (None, "arc-crm-1200") and "split" not in given:
        given["split"] = None  # only arc-crm-1200 has splits (eval-400 its default); a file or golden is read whole
    try:
        config = RunConfig(**given)
    except ValidationError as exc:
        raise flag_error(exc) from None
    if config.agent in LLM_AGENTS and config.agent == "openai" and config.base_url is None:
        pass  # the agent reads $OPENAI_API_KEY itself; nothing to check here without leaking it
    try:
        summary = run_eval(config, resume=args.resume, given=given)
    except KeyboardInterrupt:
        print("\ninterrupted: every finished episode is saved; continue with the same command and --resume",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    episodes = summary["episodes"]  # an episode lost to infrastructure, or nothing scored at all
    return EXIT_INFRA if episodes["infra_errors"] or not episodes["completed"] else 0


def run_report(args: argparse.Namespace) -> int:
    from crm_env.eval.job import finish, headline_text

    run_dir = Path(args.run_dir)
    if not (run_dir / "results.jsonl").is_file():
        raise ConfigError(f"{run_dir} holds no results.jsonl")
    summary = finish(run_dir)
    print(headline_text(summary))
    print(f"report: {run_dir / 'report.md'}")
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from crm_env.eval.compare import compare_runs, to_markdown

    result = compare_runs(Path(args.run_a), Path(args.run_b))
    text = json.dumps(result, indent=2) if args.json else to_markdown(result)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    return 0
