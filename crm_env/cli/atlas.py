"""``crm-env atlas``: learning sessions on the Atlas SDK's runtime (``run``) and its configuration
(``init-config``); ``crm_env.integrations.atlas``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from crm_env.cli.codes import EXIT_INFRA
from crm_env.errors import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    atlas = subparsers.add_parser("atlas", help="the Atlas SDK (extra [atlas]): learning sessions on its runtime")
    actions = atlas.add_subparsers(dest="atlas_command", required=True)
    config = actions.add_parser(
        "init-config", help="write an Atlas runtime configuration that plays our episodes with our reward",
        description="Writes a valid AtlasConfig (JSON, which is YAML too): our python adapter and python reward, "
                    "retries on so paired mode validates, the teacher's model, and the database URL when given "
                    "(with apply_schema_on_connect: false). The file holds that URL: keep it private.")
    config.add_argument("--output", required=True, metavar="FILE", help="where to write it (refuses to overwrite)")
    config.add_argument("--teacher-model", default="gpt-4.1-mini", help="Atlas's teacher model (default gpt-4.1-mini)")
    config.add_argument("--provider", default="openai", choices=("openai", "anthropic"),
                        help="the teacher's provider (its key from $OPENAI_API_KEY / $ANTHROPIC_API_KEY)")
    config.add_argument("--base-url", default=None, metavar="URL", help="an OpenAI-compatible endpoint for the teacher")
    config.add_argument("--database-url", default=None, metavar="URL",
                        help="Atlas's PostgreSQL (postgresql://...): without it nothing is learned across sessions")
    config.add_argument("--mode", default=None, choices=("auto", "paired"),
                        help="force Atlas's mode (default: its capability probe decides)")
    config.set_defaults(run=run_init_config)

    run = actions.add_parser(
        "run", help="one Atlas session per conversation; results.jsonl as crm-env eval writes it",
        description="Runs atlas.core.arun per conversation of a seeded sample of the split: our adapter plays the "
                    "episode with the chosen student, our deterministic verdict is the reward. Results go to "
                    "--output in crm-env eval's format (crm-env report reads them), each line with Atlas's "
                    "session id, mode, reward and attempts.")
    run.add_argument("--config", required=True, metavar="FILE", help="an Atlas configuration (crm-env atlas init-config)")
    run.add_argument("--student", default="scripted", choices=("scripted", "replay", "claude", "openai"),
                     help="who plays the episodes (default scripted: simulated)")
    run.add_argument("--model", default=None, help="the LLM student's model")
    run.add_argument("--base-url", default=None, metavar="URL", help="the LLM student's endpoint")
    run.add_argument("--dataset", default="arc-crm-1200", help="packaged dataset or JSONL path")
    run.add_argument("--split", default="train", help="its split (default train; test is held out)")
    run.add_argument("--episodes", type=int, default=10, metavar="N", help="sessions: a seeded sample (default 10)")
    run.add_argument("--seed", type=int, default=0, help="which sample (default 0)")
    run.add_argument("--output", required=True, metavar="DIR", help="run directory")
    run.add_argument("--resume", action="store_true", help="continue the run in --output")
    run.set_defaults(run=run_sessions)


def run_init_config(args: argparse.Namespace) -> int:
    from crm_env.integrations.atlas.config import atlas_config, config_text, described

    path = Path(args.output)
    if path.exists():
        raise ConfigError(f"{path} exists; choose another --output (it is never overwritten)")
    config = atlas_config(teacher_model=args.teacher_model, provider=args.provider, base_url=args.base_url,
                          database_url=args.database_url, mode=args.mode)
    path.write_text(config_text(config), encoding="utf-8")
    print(f"wrote {path}: {described(config)}")
    return 0


def run_sessions(args: argparse.Namespace) -> int:
    from crm_env.eval.job import headline_text
    from crm_env.integrations.atlas.run import SessionFailed, run_atlas

    if args.episodes < 1:
        raise ConfigError("--episodes must be at least 1")
    try:
        summary = run_atlas(args.config, student=args.student, model=args.model, base_url=args.base_url,
                            dataset=args.dataset, split=args.split, episodes=args.episodes, seed=args.seed,
                            output=args.output, resume=args.resume)
    except SessionFailed as exc:
        print(f"crm-env: stopped: {exc}", file=sys.stderr)
        return EXIT_INFRA
    print(headline_text(summary))
    print(f"run: {args.output}")
    return 0
