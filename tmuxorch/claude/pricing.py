"""Prices per model and the arithmetic of tokens and money.

Prices are applied when asked (per model, longest prefix of the table), so a
changed price table reprices the past too. The fleet's table (defaults with
the config over them) is :func:`tmuxorch.claude.cost.pricing`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tmuxorch.core.config import Price
from tmuxorch.core.records import MessageUsage

# Anthropic list prices, USD per million tokens (cache_creation: 5-minute cache
# writes). Longest prefix wins: date-suffixed and older models before families.
DEFAULT_PRICING: dict[str, Price] = {
    "claude-opus": Price(input=5.0, output=25.0, cache_read=0.5, cache_creation=6.25),
    "claude-opus-4-0": Price(input=15.0, output=75.0, cache_read=1.5, cache_creation=18.75),
    "claude-opus-4-1": Price(input=15.0, output=75.0, cache_read=1.5, cache_creation=18.75),
    "claude-opus-4-2025": Price(input=15.0, output=75.0, cache_read=1.5, cache_creation=18.75),
    "claude-3-opus": Price(input=15.0, output=75.0, cache_read=1.5, cache_creation=18.75),
    "claude-sonnet": Price(input=3.0, output=15.0, cache_read=0.3, cache_creation=3.75),
    "claude-3-7-sonnet": Price(input=3.0, output=15.0, cache_read=0.3, cache_creation=3.75),
    "claude-3-5-sonnet": Price(input=3.0, output=15.0, cache_read=0.3, cache_creation=3.75),
    "claude-haiku": Price(input=1.0, output=5.0, cache_read=0.1, cache_creation=1.25),
    "claude-3-5-haiku": Price(input=0.8, output=4.0, cache_read=0.08, cache_creation=1.0),
    "claude-3-haiku": Price(input=0.25, output=1.25, cache_read=0.03, cache_creation=0.3),
}


# -- prices -------------------------------------------------------------------


@dataclass(frozen=True)
class Rates:
    """A resolved price: USD per million tokens of each kind."""

    input: float
    output: float
    cache_read: float
    cache_creation: float

    @classmethod
    def of(cls, price: Price) -> Rates:
        read = price.input * 0.1 if price.cache_read is None else price.cache_read
        write = price.input * 1.25 if price.cache_creation is None else price.cache_creation
        return cls(price.input, price.output, read, write)


@dataclass(frozen=True)
class Pricing:
    """The price table (defaults overlaid with config) and the fallback price."""

    table: dict[str, Rates]
    default: Rates | None = None

    def rates(self, model: str) -> Rates | None:
        """The longest table prefix of the (normalised) model name, else the default."""
        name = normalise_model(model)
        best = max((p for p in self.table if name.startswith(p)), key=len, default=None)
        return self.table[best] if best is not None else self.default


def normalise_model(model: str) -> str:
    """``us.anthropic.claude-sonnet-4-5-20250929-v1:0`` -> ``claude-sonnet-4-5-…``:
    Bedrock and Vertex names are priced like the API's."""
    name = model.strip().lower()
    start = name.find("claude")
    return name[start:] if start > 0 else name


# -- tokens and money -----------------------------------------------------------


@dataclass(frozen=True)
class Tokens:
    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_creation: int = 0

    def __add__(self, other: Tokens) -> Tokens:
        return Tokens(
            self.input + other.input,
            self.output + other.output,
            self.cache_read + other.cache_read,
            self.cache_creation + other.cache_creation,
        )

    @classmethod
    def of(cls, usage: MessageUsage) -> Tokens:
        return cls(usage.input, usage.output, usage.cache_read, usage.cache_creation)

    @property
    def total(self) -> int:
        return self.input + self.output + self.cache_read + self.cache_creation

    def usd(self, rates: Rates) -> float:
        return (
            self.input * rates.input
            + self.output * rates.output
            + self.cache_read * rates.cache_read
            + self.cache_creation * rates.cache_creation
        ) / 1_000_000

    def to_json(self) -> dict[str, int]:
        return {
            "input": self.input,
            "output": self.output,
            "cache_read": self.cache_read,
            "cache_creation": self.cache_creation,
        }


@dataclass(frozen=True)
class Cost:
    """Tokens and price of some usage; ``unpriced`` names models priced at 0
    because nothing in the table matched and there is no ``pricing_default``."""

    tokens: Tokens = field(default_factory=Tokens)
    cost_usd: float = 0.0
    models: dict[str, Tokens] = field(default_factory=dict)
    unpriced: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "tokens": self.tokens.to_json(),
            "cost_usd": self.cost_usd,
            "models": {m: t.to_json() for m, t in self.models.items()},
            "unpriced_models": list(self.unpriced),
        }


def price(usages: Iterable[MessageUsage], table: Pricing) -> Cost:
    """Sum usages per model, then price each model once."""
    models: dict[str, Tokens] = {}
    for usage in usages:
        models[usage.model] = models.get(usage.model, Tokens()) + Tokens.of(usage)
    total, usd, unpriced = Tokens(), 0.0, []
    for model in sorted(models):
        tokens = models[model]
        total += tokens
        rates = table.rates(model)
        if rates is None:
            unpriced.append(model)
        else:
            usd += tokens.usd(rates)
    return Cost(total, usd, dict(sorted(models.items())), tuple(unpriced))
