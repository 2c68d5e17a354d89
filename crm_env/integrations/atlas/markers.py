"""Decorators named as Atlas's (``atlas.sdk.decorators``): ``atlas env init`` ranks a class decorated with a
name ``environment`` or ``agent`` first, matching by name in the source, so ours need no Atlas import."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


def environment(cls: T) -> T:
    """Marks the Atlas environment of this package (changes nothing at run time)."""
    return cls


def agent(cls: T) -> T:
    """Marks the Atlas agent of this package (changes nothing at run time)."""
    return cls
