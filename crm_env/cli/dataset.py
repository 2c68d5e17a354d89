"""``crm-env dataset``: generate, import, validate and describe conversation datasets."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from crm_env.datasets.findings import table
from crm_env.errors import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("dataset", help="generate, import, validate and describe conversation datasets")
    commands = parser.add_subparsers(dest="dataset_command", required=True)

    gen = commands.add_parser("generate", help="generate conversations deterministically (same seed, same bytes)")
    gen.add_argument("--seed", type=int, required=True)
    gen.add_argument("--count", type=int, required=True)
    gen.add_argument("--output", "--out", dest="out", type=Path, help="output .jsonl or .jsonl.gz (default: stdout)")
    gen.set_defaults(run=run_generate)

    imp = commands.add_parser("import", help="convert another tool's conversation file into our format")
    imp.add_argument("--from", dest="source", choices=("previous",), required=True)
    imp.add_argument("path", type=Path)
    imp.add_argument("out", type=Path, help="output .jsonl(.gz); the findings go to OUT + .findings.jsonl")
    imp.set_defaults(run=run_import)

    val = commands.add_parser("validate", help="lint + oracle replay of a file or packaged dataset")
    val.add_argument("target", help="a .jsonl(.gz) path or a packaged name (arc-crm-1200, arc-crm-1200:eval-400, golden)")
    val.add_argument("--split", default=None, help="a split of a packaged dataset (or NAME:SPLIT)")
    val.add_argument("--backend", default="memory", help="backend URL for the replay (default: memory)")
    val.set_defaults(run=run_validate)

    st = commands.add_parser("stats", help="print the mix: complexity, intents, write share, negative share")
    st.add_argument("target", help="a .jsonl(.gz) path or a packaged name")
    st.add_argument("--split", default=None, help="a split of a packaged dataset (or NAME:SPLIT)")
    st.set_defaults(run=run_stats)


def run_generate(args: argparse.Namespace) -> int:
    from crm_env.datasets.generator import generate
    from crm_env.datasets.loader import dump, to_jsonl

    start = time.perf_counter()
    conversations = generate(args.seed, args.count)
    if args.out is None:
        sys.stdout.buffer.write(to_jsonl(conversations))
        return 0
    dump(conversations, args.out)
    print(f"wrote {len(conversations)} conversations to {args.out} in {time.perf_counter() - start:.2f} s",
          file=sys.stderr)
    return 0


def run_import(args: argparse.Namespace) -> int:
    from crm_env.datasets.importer import import_file
    from crm_env.datasets.loader import dump

    if not args.path.is_file():
        raise ConfigError(f"{args.path}: no such file to import")
    report = import_file(args.path)
    if not report.converted:
        print(table(report.findings))
        raise ConfigError(f"nothing in {args.path} could be converted ({report.rejected} rejected); "
                          f"nothing was written")
    dump(report.converted, args.out)
    findings_path = args.out.with_name(args.out.name + ".findings.jsonl")
    findings_path.write_text("".join(f.model_dump_json() + "\n" for f in report.findings), encoding="utf-8")
    print(table(report.findings))
    print(f"\n{len(report.converted)} of {report.total} conversations converted to {args.out}; "
          f"{report.rejected} rejected; findings in {findings_path}")
    return 0


def run_validate(args: argparse.Namespace) -> int:
    from crm_env.datasets.lint import lint
    from crm_env.datasets.loader import load
    from crm_env.datasets.replay import replay

    conversations = load(args.target, split=args.split)
    findings = lint(conversations)
    report = replay(conversations, args.backend, strict=True)
    seen = {(f.conversation_id, f.turn_id, f.check, f.message) for f in findings}
    findings += [f for f in report.findings if (f.conversation_id, f.turn_id, f.check, f.message) not in seen]
    print(table(findings))
    print(f"\n{len(conversations)} conversations, {report.turns} turns; replay on {args.backend}: "
          f"{100 * report.success_rate:.2f} % of turns as expected in {report.seconds:.2f} s")
    return 1 if findings else 0


def run_stats(args: argparse.Namespace) -> int:
    from crm_env.datasets.loader import load
    from crm_env.datasets.stats import stats

    print(stats(load(args.target, split=args.split)).to_text())
    return 0


__all__ = ["register"]
