"""``crm-env tools``: print the tool catalog."""

from __future__ import annotations

import argparse
import json

from crm_env.tools import anthropic_tools, catalog, openai_tools, to_text


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("tools", help="print the tool catalog (text, or OpenAI / Anthropic JSON)")
    parser.add_argument("--format", choices=("text", "openai", "anthropic"), default="text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.format == "text":
        print(to_text(catalog()))
    else:
        print(json.dumps(openai_tools() if args.format == "openai" else anthropic_tools(), indent=2))
    return 0
