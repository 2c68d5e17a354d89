"""Reward components for ArcCrm-v0: state, grounding, refusals, replies, arguments, the LLM judge, the ensemble.

Each component is a pure function of the turn's trajectory and reference outcome; none mutates the CRM.
"""

from crm_env.rewards.arguments import match_arguments
from crm_env.rewards.canon import canonical_argument
from crm_env.rewards.component import Component, Status
from crm_env.rewards.ensemble import (
    MAX_TOOL_ERROR_PENALTY,
    TOOL_ERROR_PENALTY,
    WEIGHTS,
    AgentCall,
    TurnVerdict,
    score_turn,
    shaped_reward,
)
from crm_env.rewards.failure import validate_refusal
from crm_env.rewards.grounding import validate_grounding
from crm_env.rewards.judge import Judge, JudgeError, JudgeVerdict
from crm_env.rewards.meaning import check_reply
from crm_env.rewards.replay import GoldOutcome, GoldReplay
from crm_env.rewards.state import net_changes, validate_state

__all__ = [
    "MAX_TOOL_ERROR_PENALTY", "TOOL_ERROR_PENALTY", "WEIGHTS", "AgentCall", "Component", "GoldOutcome",
    "GoldReplay", "Judge", "JudgeError", "JudgeVerdict", "Status", "TurnVerdict", "canonical_argument",
    "check_reply", "match_arguments", "net_changes", "score_turn", "shaped_reward",
    "validate_grounding", "validate_refusal", "validate_state",
]
