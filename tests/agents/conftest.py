"""Shared fixtures of the agent tests: the eval-400 conversations and a memory env over them."""

from __future__ import annotations

from collections.abc import Iterator

import gymnasium as gym
import pytest

import crm_env  # noqa: F401  (registers ArcCrm-v0)
from crm_env.datasets import load
from crm_env.datasets.format import Conversation


@pytest.fixture(scope="session")
def eval400() -> list[Conversation]:
    return load("arc-crm-1200", split="eval-400")


@pytest.fixture
def env(eval400: list[Conversation]) -> Iterator[gym.Env]:
    environment = gym.make("ArcCrm-v0", dataset=eval400, backend="memory").unwrapped
    yield environment
    environment.close()
