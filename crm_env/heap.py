"""Keeping the garbage collector off a run's long-lived objects."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def long_lived() -> Iterator[None]:
    """Within the block, what exists when it starts (the dataset, the envs, the events so far) is frozen out
    of the garbage collector's passes (``gc.freeze``), then put back (``gc.unfreeze``).

    A run keeps these alive throughout, and full collections walked them again and again: measured, 0.41 s
    of a 2.5 s replay eval of eval-400 and 0.53 s of a 300-episode learning run. Nothing is collected any
    later than it would be: frozen objects are all still referenced when frozen, apart from cycles already
    unreachable, which the first collection after the block reclaims."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
