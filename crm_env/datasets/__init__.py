"""Conversation datasets: the format, loaders, the generator, splits and lint."""

from crm_env.datasets.format import (
    FORMAT_VERSION,
    Complexity,
    Conversation,
    FailureCategory,
    GoldCall,
    ReplyFact,
    Turn,
    bindings_from,
    references_in,
    resolve,
)
from crm_env.datasets.intents import INTENT_COUNTS, INTENT_TOOLS, INTENT_WORKFLOWS, TaskIntent, Workflow
from crm_env.datasets.loader import DatasetError, dump, load

__all__ = [
    "FORMAT_VERSION",
    "INTENT_COUNTS",
    "INTENT_TOOLS",
    "INTENT_WORKFLOWS",
    "Complexity",
    "Conversation",
    "DatasetError",
    "FailureCategory",
    "GoldCall",
    "ReplyFact",
    "TaskIntent",
    "Turn",
    "Workflow",
    "bindings_from",
    "dump",
    "load",
    "references_in",
    "resolve",
]
