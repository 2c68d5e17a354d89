"""Timing helpers shared by the benchmark modules."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """One measured figure, with the target it is held against (None when there is none)."""

    name: str
    value: float
    unit: str
    target: float | None = None
    higher_is_better: bool = True

    @property
    def ratio(self) -> float | None:
        """How many times better than the target (> 1 means the target is met)."""
        if self.target is None or self.value == 0:
            return None
        return self.value / self.target if self.higher_is_better else self.target / self.value

    def line(self) -> str:
        text = f"{self.name:<58} {self.value:>14,.2f} {self.unit:<12}"
        if self.target is not None:
            sign = ">=" if self.higher_is_better else "<="
            text += f" target {sign} {self.target:,.2f}  ratio {self.ratio:.2f}x"
        return text


def per_second(func: Callable[[], int], seconds: float = 1.0) -> float:
    """Operations per second: ``func`` runs a batch and returns how many operations it did."""
    done = 0
    start = time.perf_counter()
    while True:
        done += func()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


def median_seconds(func: Callable[[], object], repeat: int = 2000) -> float:
    """Median wall time of one call, over ``repeat`` calls after a short warm-up."""
    for _ in range(min(repeat // 10, 100)):
        func()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)
