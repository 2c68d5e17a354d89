"""Entry point of ``crm-env``. Each subcommand lives in its own module with a ``register`` function."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from crm_env import __version__
from crm_env.cli import dataset, db, learn, reward, tools
from crm_env.cli import eval as eval_cli
from crm_env.errors import CrmEnvError

SUBCOMMANDS = (tools, dataset, db, eval_cli, learn, reward)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crm-env", description="A CRM as a Gymnasium environment for LLM agents.")
    parser.add_argument("--version", action="version", version=f"crm-env {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in SUBCOMMANDS:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except CrmEnvError as exc:
        print(f"crm-env: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
