"""Shared-memory transport of text observations for Gymnasium's ``AsyncVectorEnv``.

``gym.make_vec(..., vectorization_mode="async")`` moves observations from its worker processes through
buffers allocated once from the observation space (``shared_memory=True``, its default). Gymnasium has
no handler for our text spaces (``UnicodeText``, ``JsonText``); these register one: per env, a buffer of
``shared_bytes`` UTF-8 bytes and the text's length. Reading gives a live view (``SharedTexts``) that
decodes each env's text on access; a deep copy of it (what the vector env returns with its default
``copy=True``) is a plain tuple of ``str``. A text longer than the buffer is refused with an error that
says what to do, rather than cut.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
from gymnasium.vector.utils.shared_memory import (
    create_shared_memory,
    read_from_shared_memory,
    write_to_shared_memory,
)

from crm_env.envs.spaces import UnicodeText


@dataclass
class TextBuffer:
    """The shared buffer of one text field for ``n`` envs: their lengths, then ``capacity`` bytes each."""

    lengths: Any  # multiprocessing Array of int64, one per env
    data: Any  # multiprocessing Array of bytes, n * capacity
    capacity: int

    def _bytes(self) -> np.ndarray:
        return np.frombuffer(self.data.get_obj(), dtype=np.uint8)

    def read(self, index: int) -> str:
        start = index * self.capacity
        return self._bytes()[start:start + int(self.lengths[index])].tobytes().decode("utf-8")

    def write(self, index: int, text: str) -> None:
        encoded = text.encode("utf-8")
        if len(encoded) > self.capacity:
            raise ValueError(
                f"an observation text of {len(encoded):,} bytes does not fit the vector env's shared buffer "
                f"({self.capacity:,} bytes per env): pass vector_kwargs={{'shared_memory': False}} to "
                "gym.make_vec, or a smaller state_view ('counts' or 'changed')")
        start = index * self.capacity
        self._bytes()[start:start + len(encoded)] = np.frombuffer(encoded, dtype=np.uint8)
        self.lengths[index] = len(encoded)


class SharedTexts(Sequence[str]):
    """The ``n`` envs' current texts of one field, decoded on access (a deep copy is a tuple of ``str``)."""

    def __init__(self, buffer: TextBuffer, n: int) -> None:
        self._buffer, self._n = buffer, n

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return tuple(self._buffer.read(i) for i in range(*index.indices(self._n)))
        if not -self._n <= index < self._n:
            raise IndexError(index)
        return self._buffer.read(index % self._n)

    def __iter__(self) -> Iterator[str]:
        return (self._buffer.read(i) for i in range(self._n))

    def __deepcopy__(self, memo: dict[int, Any]) -> tuple[str, ...]:
        return tuple(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and tuple(self) == tuple(other)

    def __repr__(self) -> str:
        return f"SharedTexts({tuple(self)!r})"


@create_shared_memory.register(UnicodeText)
def _create(space: UnicodeText, n: int = 1, ctx: ModuleType = mp) -> TextBuffer:
    return TextBuffer(ctx.Array("q", n), ctx.Array("B", n * space.shared_bytes), space.shared_bytes)


@read_from_shared_memory.register(UnicodeText)
def _read(space: UnicodeText, shared_memory: TextBuffer, n: int = 1) -> SharedTexts:
    return SharedTexts(shared_memory, n)


@write_to_shared_memory.register(UnicodeText)
def _write(space: UnicodeText, index: int, value: str, shared_memory: TextBuffer) -> None:
    shared_memory.write(index, value)
