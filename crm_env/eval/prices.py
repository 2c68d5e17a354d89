"""The one price table: US dollars per million tokens, per model.

``PRICES`` maps a model name to ``input``, ``output`` and ``cached_input`` prices (USD per 1M tokens,
list prices as published by the providers in 2025; check them before quoting a bill). A model not in
the table is matched by the longest key it starts with (``gpt-4.1-mini-2025-04-14`` → ``gpt-4.1-mini``);
a model that matches nothing costs 0 and is reported as *unpriced* in the summary.

Override or extend with ``--prices FILE``: a JSON object of the same shape, e.g.
``{"my-local-model": {"input": 0, "output": 0, "cached_input": 0}}``; entries replace the built-in ones.

Token convention (``LlmCall``): ``input_tokens`` counts every prompt token including the cached ones, and
``cached_tokens`` says how many of those were served from the provider's prompt cache, so
``cost = (input - cached) × input + cached × cached_input + output × output``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from crm_env.errors import ConfigError


class Price(BaseModel):
    """USD per million tokens."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cached_input: float | None = Field(default=None, ge=0)  # None: cached tokens cost the input price


PRICES: dict[str, Price] = {
    # Anthropic
    "claude-opus-4": Price(input=15.0, output=75.0, cached_input=1.5),
    "claude-sonnet-4": Price(input=3.0, output=15.0, cached_input=0.3),
    "claude-3-7-sonnet": Price(input=3.0, output=15.0, cached_input=0.3),
    "claude-3-5-sonnet": Price(input=3.0, output=15.0, cached_input=0.3),
    "claude-3-5-haiku": Price(input=0.8, output=4.0, cached_input=0.08),
    "claude-haiku-4": Price(input=1.0, output=5.0, cached_input=0.1),
    # OpenAI
    "gpt-4.1": Price(input=2.0, output=8.0, cached_input=0.5),
    "gpt-4.1-mini": Price(input=0.4, output=1.6, cached_input=0.1),
    "gpt-4.1-nano": Price(input=0.1, output=0.4, cached_input=0.025),
    "gpt-4o": Price(input=2.5, output=10.0, cached_input=1.25),
    "gpt-4o-mini": Price(input=0.15, output=0.6, cached_input=0.075),
    "o3": Price(input=2.0, output=8.0, cached_input=0.5),
    "o4-mini": Price(input=1.1, output=4.4, cached_input=0.275),
}


class PriceTable:
    """Looks models up in ``PRICES`` plus overrides; remembers which models had no price."""

    def __init__(self, overrides: Mapping[str, Price] | None = None) -> None:
        self.prices: dict[str, Price] = {**PRICES, **(overrides or {})}
        self.unpriced: set[str] = set()

    @classmethod
    def from_file(cls, path: str | Path | None) -> PriceTable:
        """The built-in table with the overrides of a JSON file (none when ``path`` is None).

        Raises:
            ConfigError: The file is missing or not a valid price table.
        """
        if path is None:
            return cls()
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
            if not isinstance(raw, dict):
                raise ValueError("the file must hold a JSON object of model → prices")
            return cls({str(name): Price.model_validate(value) for name, value in raw.items()})
        except (OSError, ValueError, ValidationError) as exc:
            raise ConfigError(f"price file {path}: {exc}") from None

    def lookup(self, model: str) -> Price | None:
        price = self.prices.get(model)
        if price is not None:
            return price
        matches = [key for key in self.prices if model.startswith(key)]
        return self.prices[max(matches, key=len)] if matches else None

    def cost(self, model: str, input_tokens: int, output_tokens: int, cached_tokens: int = 0) -> float:
        """USD for one call (0 for an unpriced model, which is then listed in ``unpriced``)."""
        price = self.lookup(model)
        if price is None:
            if input_tokens or output_tokens:
                self.unpriced.add(model)
            return 0.0
        cached = min(cached_tokens, input_tokens)
        cached_price = price.input if price.cached_input is None else price.cached_input
        return ((input_tokens - cached) * price.input + cached * cached_price + output_tokens * price.output) / 1e6

    def to_dict(self) -> dict[str, dict[str, float | None]]:
        return {name: price.model_dump() for name, price in sorted(self.prices.items())}
