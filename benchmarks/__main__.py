"""Run the benchmarks and print figures with their targets and ratios.

Usage: ``python -m benchmarks`` (all) or ``python -m benchmarks sandbox backends``.
Each module in ``MODULES`` exposes ``run() -> list[Figure]``.
"""

from __future__ import annotations

import importlib
import platform
import sys

MODULES = ("sandbox", "env", "datasets", "backends", "eval", "learning", "cli", "ray", "adapters")


def main(argv: list[str]) -> int:
    names = argv or list(MODULES)
    unknown = [n for n in names if n not in MODULES]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {list(MODULES)}", file=sys.stderr)
        return 2
    print(f"python {platform.python_version()} on {platform.machine()}, {platform.processor() or 'cpu'}")
    for name in names:
        print(f"\n== {name}")
        for figure in importlib.import_module(f"benchmarks.{name}").run():
            print(figure.line(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
