"""Which sampling parameters a model takes, and how to send them.

Claude 5-generation models reject non-default sampling parameters (HTTP 400), and the installed
``anthropic`` SDK (2.x) no longer has a ``temperature`` parameter at all (passing it raises
``TypeError``): a temperature is sent to Anthropic only for models that accept it, through ``extra_body``.
"""

from __future__ import annotations

import re
from typing import Any

_NO_SAMPLING = re.compile(r"^claude-(?:(?:sonnet|opus|haiku)-(?:[5-9]|\d{2,})|fable|mythos)")


def accepts_temperature(model: str) -> bool:
    """Whether the Anthropic ``model`` takes a ``temperature``."""
    return _NO_SAMPLING.match(model) is None


def anthropic_sampling(model: str, temperature: float | None) -> dict[str, Any]:
    """Extra ``messages.create`` arguments carrying ``temperature`` (none when unset or refused)."""
    if temperature is None or not accepts_temperature(model):
        return {}
    return {"extra_body": {"temperature": temperature}}
