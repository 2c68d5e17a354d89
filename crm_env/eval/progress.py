"""The progress bar on stderr: done / total, live strict success, throughput, spend, failures."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Redrawn in place on a terminal (at most 10 times a second); a plain line every 5 s otherwise."""

    def __init__(self, total: int, *, stream: TextIO | None = None, enabled: bool = True, done: int = 0,
                 label: str = "eval") -> None:
        self.label = label
        self.total = total
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.done = done
        self.fresh = 0
        self.strict = 0
        self.scored = 0
        self.infra = 0
        self.spend = 0.0
        self.started = time.perf_counter()
        self._last = 0.0

    def update(self, *, strict: bool | None, cost: float, infra: bool) -> None:
        self.done += 1
        self.fresh += 1
        self.spend += cost
        if infra:
            self.infra += 1
        elif strict is not None:
            self.scored += 1
            self.strict += strict
        self.draw()

    def add_spend(self, cost: float) -> None:
        self.spend += cost

    def line(self) -> str:
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        rate = self.fresh / elapsed
        width = 24
        filled = int(width * self.done / self.total) if self.total else width
        strict = f"{100 * self.strict / self.scored:5.1f}%" if self.scored else "  -  "
        left = self.total - self.done
        eta = f"{left / rate:5.0f}s" if rate > 0 and left else "   0s"
        return (f"{self.label} {self.done:>5}/{self.total} [{'#' * filled}{'.' * (width - filled)}] strict {strict} | "
                f"{rate:6.1f} ep/s | ${self.spend:.4f} | infra {self.infra} | eta {eta}")

    def draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        interval = 0.1 if self.tty else 5.0
        if not force and now - self._last < interval and self.done < self.total:
            return
        self._last = now
        if self.tty:
            self.stream.write("\r" + self.line())
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            if self._last == 0.0 or self.tty:
                self.draw(force=True)
            if self.tty:
                self.stream.write("\n")
                self.stream.flush()
