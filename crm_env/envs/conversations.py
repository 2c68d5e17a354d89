"""Where the environment's conversations come from, and the per-conversation caches it keeps."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from crm_env.datasets.format import Conversation
from crm_env.errors import ConfigError

DatasetArg = str | os.PathLike[str] | Sequence[Conversation]


def load_conversations(dataset: DatasetArg, split: str | None) -> list[Conversation]:
    """Conversations from a dataset name (``crm_env.datasets.load``), a JSONL path, or a list.

    Raises:
        ConfigError: The dataset cannot be found or holds no conversations.
    """
    if isinstance(dataset, Sequence) and not isinstance(dataset, str):
        conversations = list(dataset)
    elif isinstance(dataset, os.PathLike) or str(dataset).endswith((".jsonl", ".json")) or os.sep in str(dataset):
        path = Path(dataset)
        if not path.is_file():
            raise ConfigError(f"dataset file {str(path)!r} does not exist")
        with path.open(encoding="utf-8") as handle:
            conversations = [Conversation.model_validate_json(line) for line in handle if line.strip()]
    else:
        from crm_env import datasets

        load = getattr(datasets, "load", None)
        if load is None:
            raise ConfigError(
                f"dataset {dataset!r} needs crm_env.datasets.load, which this installation lacks; "
                "pass dataset='path/to/conversations.jsonl' instead"
            )
        conversations = list(load(dataset, split=split) if split is not None else load(dataset))
    if not conversations:
        raise ConfigError(f"dataset {dataset!r} (split {split!r}) holds no conversations")
    ids = [c.conversation_id for c in conversations]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"dataset {dataset!r} repeats conversation ids")
    return conversations
