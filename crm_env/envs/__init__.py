"""The Gymnasium environment ``ArcCrm-v0`` and its spaces.

The names are loaded on first use (PEP 562): ``import crm_env`` registers ``ArcCrm-v0`` through
``crm_env.envs.registration`` without loading the env, its reward and its datasets.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {"CrmEnv": "crm_env.envs.env", "ENV_ID": "crm_env.envs.registration",
          "register_envs": "crm_env.envs.registration", "ActionSpace": "crm_env.envs.spaces",
          "JsonText": "crm_env.envs.spaces", "UnicodeText": "crm_env.envs.spaces",
          "observation_space": "crm_env.envs.spaces", "parse_action": "crm_env.envs.spaces"}

__all__ = [
    "ENV_ID",
    "ActionSpace",
    "CrmEnv",
    "JsonText",
    "UnicodeText",
    "observation_space",
    "parse_action",
    "register_envs",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'crm_env.envs' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
