"""Shared helpers for the env tests: the fixture conversations and env construction."""

from __future__ import annotations

from typing import Any

import gymnasium as gym

import crm_env  # noqa: F401  (registers ArcCrm-v0)
from tests.envs.fixture_conversations import IDS as FIXTURE_IDS
from tests.envs.fixture_conversations import conversations, write_jsonl

__all__ = ["FIXTURE_IDS", "conversations", "datasets_available", "make", "write_jsonl"]


def datasets_available() -> bool:
    from crm_env import datasets

    if not hasattr(datasets, "load"):
        return False
    try:
        datasets.load("arc-crm-1200", split="eval-400")
    except Exception:
        return False
    return True


def make(**kwargs: Any) -> gym.Env:
    """``gymnasium.make("ArcCrm-v0")`` on the fixture conversations unless ``dataset`` is given."""
    kwargs.setdefault("dataset", conversations())
    return gym.make("ArcCrm-v0", **kwargs)
