"""``crm-env atlas``: learning sessions on the Atlas SDK's runtime (``run``), its configuration
(``init-config``), storage (``init-db``) and the memory bridge (``export-memory``, ``import-memory``);
``crm_env.integrations.atlas``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from crm_env.cli.codes import EXIT_INFRA
from crm_env.errors import ConfigError, InfrastructureError


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

    init_db = actions.add_parser(
        "init-db", help="create the tables Atlas stores sessions and learning state in (idempotent)",
        description="The arc-atlas 0.1.16 wheel lacks the schema.sql it would apply on connect; this creates the "
                    "same tables from our own definitions. Running it again changes nothing.")
    init_db.add_argument("url", metavar="URL", help="postgresql://USER:PASSWORD@HOST:PORT/DB (or postgresql+psycopg://)")
    init_db.set_defaults(run=run_init_db)

    export = actions.add_parser(
        "export-memory", help="seed Atlas: our memory's active entries as learning_registry rows",
        description="Writes the active entries of a learning memory as Atlas learning state: per learning key "
                    "(default: one per workflow family, the keys crm-env atlas run uses) a pamphlet of instructions "
                    "per audience. A key that holds a row is refused unless --replace.")
    export.add_argument("--memory", required=True, metavar="URL|FILE",
                        help="sqlite:///FILE or postgresql+psycopg://... (a learning memory), or a memory.json export")
    export.add_argument("--memory-name", default="default", metavar="NAME", help="which memory of that database")
    export.add_argument("--database-url", required=True, metavar="URL", help="Atlas's PostgreSQL")
    export.add_argument("--learning-key", action="append", default=None, metavar="KEY",
                        help="a learning key to write (repeatable; default every crm_env:WORKFLOW)")
    export.add_argument("--replace", action="store_true", help="overwrite keys that already hold learning state")
    export.set_defaults(run=run_export)

    imp = actions.add_parser(
        "import-memory", help="learn from Atlas: learning_registry pamphlets as candidate entries of our memory",
        description="Adds each line of the chosen rows' pamphlets to a learning memory as a candidate entry "
                    "(one delta each), so the curator decides on it as on any proposal.")
    imp.add_argument("--database-url", required=True, metavar="URL", help="Atlas's PostgreSQL")
    imp.add_argument("--memory", required=True, metavar="URL", help="the learning memory to add to (sqlite:///FILE...)")
    imp.add_argument("--memory-name", default="default", metavar="NAME", help="which memory of that database")
    imp.add_argument("--learning-key", action="append", default=None, metavar="KEY",
                     help="a learning key to read (repeatable; default every row)")
    imp.set_defaults(run=run_import)

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


def run_init_db(args: argparse.Namespace) -> int:
    from crm_env.eval.config import mask_url
    from crm_env.integrations.atlas.storage import init_db

    try:
        tables = init_db(args.url)
    except InfrastructureError as exc:
        print(f"crm-env: error: {exc}", file=sys.stderr)
        return EXIT_INFRA
    print(f"{mask_url(args.url)}: Atlas's tables are in place ({', '.join(tables)})")
    return 0


def _memory_state(location: str, name: str) -> Any:
    """The memory at a database URL (``name``), or folded from a memory.json export."""
    from crm_env.learning.memory import fold, import_json
    from crm_env.learning.store import MemoryStore

    path = Path(location)
    if "://" not in location:
        if not path.is_file():
            raise ConfigError(f"--memory {location}: no such file; give a memory.json export or a database URL")
        try:
            return fold(import_json(path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"--memory {location}: {exc}") from None
    with MemoryStore(location, name) as store:
        return store.state()


def run_export(args: argparse.Namespace) -> int:
    from crm_env.integrations.atlas.bridge import DEFAULT_KEYS, export_memory

    state = _memory_state(args.memory, args.memory_name)
    try:
        keys = export_memory(state, args.database_url, tuple(args.learning_key or DEFAULT_KEYS), replace=args.replace)
    except InfrastructureError as exc:
        print(f"crm-env: error: {exc}", file=sys.stderr)
        return EXIT_INFRA
    print(f"memory v{state.version} ({len(state.entries)} entries) -> Atlas learning state under {len(keys)} "
          f"key(s): {', '.join(keys)}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    from crm_env.integrations.atlas.bridge import import_changes
    from crm_env.learning.store import MemoryStore

    with MemoryStore(args.memory, args.memory_name) as store:
        state = store.state()
        try:
            changes, report = import_changes(state, args.database_url,
                                             tuple(args.learning_key) if args.learning_key else None)
        except InfrastructureError as exc:
            print(f"crm-env: error: {exc}", file=sys.stderr)
            return EXIT_INFRA
        store.extend(changes, at_version=state.version)
    print(f"added {len(report.added)} candidate entr{'y' if len(report.added) == 1 else 'ies'} from Atlas; "
          f"{report.already} already held; {len(report.skipped)} line(s) refused")
    for cause in report.skipped:
        print(f"  refused: {cause}")
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
