"""What one provider request cost: ``LlmCall`` records and the token conventions behind them.

Every request (agent or judge) is recorded as an ``LlmCall`` so the runner can account tokens, cost and
latency per role. Token convention: ``input_tokens`` counts every prompt token, cached ones included,
and ``cached_tokens`` is the cached part (``crm_env.eval.prices`` prices them on that basis).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, NamedTuple


class TokenUsage(NamedTuple):
    """The model that answered and its token counts, as the provider reported them."""

    model: str
    input_tokens: int
    output_tokens: int
    cached_tokens: int


@dataclass(frozen=True, slots=True)
class LlmCall:
    """One provider request, as the provider reported it."""

    role: str  # "agent" or "judge"
    provider: str  # "anthropic", "openai", ...
    model: str  # the model the provider says answered
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    latency_s: float
    attempts: int

    @classmethod
    def of(cls, role: str, provider: str, usage: TokenUsage, latency_s: float, attempts: int) -> LlmCall:
        return cls(role, provider, usage.model, usage.input_tokens, usage.output_tokens, usage.cached_tokens,
                   round(latency_s, 6), attempts)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def openai_usage(response: Any, requested_model: str) -> TokenUsage:
    """Usage of a Chat Completions response (``prompt_tokens`` already include the cached ones)."""
    usage = getattr(response, "usage", None)
    details = getattr(usage, "prompt_tokens_details", None)
    return TokenUsage(
        getattr(response, "model", None) or requested_model,
        getattr(usage, "prompt_tokens", None) or 0,
        getattr(usage, "completion_tokens", None) or 0,
        getattr(details, "cached_tokens", None) or 0,
    )


def anthropic_usage(response: Any, requested_model: str) -> TokenUsage:
    """Usage of a Messages response. Anthropic reports cache reads and writes apart from
    ``input_tokens``; tokens in counts them all, and the reads are the cached part."""
    usage = getattr(response, "usage", None)
    read = getattr(usage, "cache_read_input_tokens", None) or 0
    written = getattr(usage, "cache_creation_input_tokens", None) or 0
    return TokenUsage(
        getattr(response, "model", None) or requested_model,
        (getattr(usage, "input_tokens", None) or 0) + read + written,
        getattr(usage, "output_tokens", None) or 0,
        read,
    )
