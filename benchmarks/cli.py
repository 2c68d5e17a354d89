"""The command line as a user times it, whole process included: ``crm-env --version`` (target 0.25 s;
0.34 s before the lazy imports) and ``crm-env eval --agent replay`` on eval-400 with its report and plots
(target 1.2 s; 2.4 s when first measured)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.timing import Figure

RUNS = 5


def _seconds(args: Callable[[int], list[str]], cwd: str) -> float:
    """The median whole-process time of ``RUNS`` runs (``args(i)``: the arguments of run ``i``)."""
    times = []
    for i in range(RUNS):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "crm_env.cli.main", *args(i)], cwd=cwd, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        version = _seconds(lambda i: ["--version"], tmp)
        evaluation = _seconds(lambda i: ["eval", "--agent", "replay", "--no-progress", "--output",
                                         str(Path(tmp) / f"run{i}")], tmp)
    return [Figure("crm-env --version (whole process)", version, "s", 0.25, higher_is_better=False),
            Figure("crm-env eval --agent replay, eval-400, report included", evaluation, "s", 1.2,
                   higher_is_better=False)]
