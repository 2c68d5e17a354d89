"""Entry point of ``crm-env``. Each subcommand lives in its own module with a ``register`` function; the
modules load when the parser is built, so ``crm-env --version`` loads none of them."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from crm_env import __version__
from crm_env.cli.codes import EXIT_USAGE
from crm_env.errors import CrmEnvError

SUBCOMMANDS = ("tools", "dataset", "db", "eval", "learn", "reward", "atlas")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crm-env", description="A CRM as a Gymnasium environment for LLM agents.")
    parser.add_argument("--version", action="version", version=f"crm-env {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in SUBCOMMANDS:
        importlib.import_module(f"crm_env.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if list(sys.argv[1:] if argv is None else argv) == ["--version"]:
        print(f"crm-env {__version__}")
        return 0
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except CrmEnvError as exc:
        print(f"crm-env: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
