"""``crm-env db``: run and manage the SQL database.

- ``up``: start a private PostgreSQL from Debian's binaries (no Docker) and print its URL.
- ``init``: create the tables (idempotent).
- ``seed FILE``: load initial records (JSON: record type → records), checked like an episode seed.
- ``snapshot FILE`` / ``restore FILE``: a portable JSON snapshot of the committed data and of the learning
  memories the database holds (``crm_env.backends.snapshot``) that restores exactly on any backend.
- ``reset``: delete the committed data.

The commands work on the committed data of the database named by ``--url`` or
``$CRM_ENV_DATABASE_URL``. Episodes never commit, so they neither see nor change that data.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from crm_env.backends import DATABASE_URL_ENV, resolve_url
from crm_env.backends.snapshot import document, dumps, parse
from crm_env.errors import ConfigError
from crm_env.schema.clock import Clock
from crm_env.schema.seed import build_seed


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("db", help="start, initialise, seed, snapshot, restore or reset the SQL database")
    parser.add_argument("--url", default=None, help=f"database URL (default: ${DATABASE_URL_ENV})")
    actions = parser.add_subparsers(dest="db_command", required=True)
    up = actions.add_parser("up", help="start a local PostgreSQL without Docker and print its URL")
    up.add_argument("--dir", type=Path, default=None, help="cluster directory (default: one per user under /tmp)")
    up.add_argument("--port", type=int, default=None)
    down = actions.add_parser("down", help="stop the local PostgreSQL that `db up` started")
    down.add_argument("--dir", type=Path, default=None, help="cluster directory (default: one per user under /tmp)")
    actions.add_parser("init", help="create the tables (safe to repeat)")
    seed = actions.add_parser("seed", help="load initial records from a JSON file")
    seed.add_argument("file", type=Path)
    seed.add_argument("--as-of", default=None, help="clock for creation stamps the records leave out")
    snapshot = actions.add_parser("snapshot", help="write every committed record to a JSON file")
    snapshot.add_argument("file", type=Path)
    restore = actions.add_parser("restore", help="replace the committed data with a snapshot file")
    restore.add_argument("file", type=Path)
    actions.add_parser("reset", help="delete the committed data")
    for action in actions.choices.values():  # "crm-env db seed FILE --url URL" as well as "db --url URL seed FILE"
        action.add_argument("--url", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    parser.set_defaults(run=run)


def _store(args: argparse.Namespace):
    from crm_env.backends.sql import SqlStore

    url = resolve_url(args.url)
    if not url.startswith(("sqlite", "postgres")):
        raise ConfigError(f"crm-env db needs a SQL database URL (--url or ${DATABASE_URL_ENV}), not {url!r}")
    return SqlStore(url, persistent=True)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None


def run(args: argparse.Namespace) -> int:
    if args.db_command == "up":
        from crm_env.backends.local_postgres import start

        cluster = start(args.dir, args.port)
        print(f"{'reusing the server already running' if cluster.reused else 'started a server'}; its data lives in "
              f"{cluster.data_dir}; stop it with `crm-env db down`", file=sys.stderr)
        print(cluster.url)
        return 0
    if args.db_command == "down":
        from crm_env.backends.local_postgres import default_dir, status, stop

        directory = (args.dir or default_dir()).resolve()
        if status(directory) is None:
            print(f"no server running in {directory}")
            return 0
        stop(directory)
        print(f"stopped the server in {directory} (its data stays there; `crm-env db up` starts it again)")
        return 0
    store = _store(args)
    try:
        if args.db_command == "init":
            print(f"schema ready at {store.url}")
        elif args.db_command in ("seed", "restore"):
            records, memories = parse(_read_json(args.file))
            seed = build_seed(records, Clock.at(args.as_of if args.db_command == "seed" else None))
            if memories:  # every memory checked before anything is written
                from crm_env.learning.store import restore_memories

                restore_memories(store.url, memories, check_only=True)
            store.begin_episode()  # persistent: deletes the committed data first
            store.load(seed.records)
            store.commit()
            stored = restore_memories(store.url, memories) if memories else 0
            print(f"loaded {seed.size} records" + (f" and {stored} of {len(memories)} learning memories (the others "
                                                   "were already there)" if memories else ""))
        elif args.db_command == "snapshot":
            from crm_env.learning.store import snapshot_memories

            dump = {entity.value: rows for entity, rows in store.dump().items() if rows}
            memories = snapshot_memories(store.url)
            args.file.write_text(dumps(document(dump, memories)), encoding="utf-8")
            print(f"wrote {sum(len(r) for r in dump.values())} records"
                  + (f" and {len(memories)} learning memories" if memories else "") + f" to {args.file}")
        elif args.db_command == "reset":
            store.begin_episode()
            store.commit()
            print("committed data deleted")
    finally:
        store.close()
    return 0

