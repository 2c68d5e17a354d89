"""The Gymnasium environment ``ArcCrm-v0`` and its spaces."""

from crm_env.envs.env import CrmEnv
from crm_env.envs.registration import ENV_ID, register_envs
from crm_env.envs.spaces import ActionSpace, JsonText, UnicodeText, observation_space, parse_action

__all__ = ["ENV_ID", "ActionSpace", "CrmEnv", "JsonText", "UnicodeText", "observation_space", "parse_action",
           "register_envs"]
