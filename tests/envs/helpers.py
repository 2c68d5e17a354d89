"""Shared helpers for the env tests: the fixture dataset and env construction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym

import crm_env  # noqa: F401  (registers ArcCrm-v0)

FIXTURE = str(Path(__file__).with_name("conversations.jsonl"))
FIXTURE_IDS = ("fx-001", "fx-002", "fx-003", "fx-004", "fx-005")


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
    kwargs.setdefault("dataset", FIXTURE)
    return gym.make("ArcCrm-v0", **kwargs)
