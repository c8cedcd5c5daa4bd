"""Epochs and training cost: each provider's default epochs and its price table.

Used by plans (estimates), dataset checks (--json output) and the local emulator (trained_tokens), so all three
agree on the numbers.
"""

from __future__ import annotations

from typing import Any

from ftops.catalog import ModelInfo

MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25
DEFAULT_EPOCHS = 3


def resolve_epochs(n_examples: int, n_epochs: int | float | str | None = "auto", default: str = "auto") -> int:
    """``n_epochs`` as the service resolves it: an explicit number, else the provider's default: a fixed number,
    or ("auto") OpenAI's documented heuristic."""
    if isinstance(n_epochs, (int, float)) and not isinstance(n_epochs, bool) and float(n_epochs).is_integer():
        return int(n_epochs)
    if default != "auto":
        return int(default)
    n = max(1, int(n_examples))
    epochs = DEFAULT_EPOCHS
    if n * epochs < MIN_TARGET_EXAMPLES:
        epochs = min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // n)
    elif n * epochs > MAX_TARGET_EXAMPLES:
        epochs = max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // n)
    return epochs


def price_per_1m(model: str, info: ModelInfo, *, method: str = "supervised", training_type: str | None = None,
                 overrides: dict[str, Any] | None = None, provider: str | None = None) -> float | None:
    """USD per 1M training tokens. ``overrides`` is ftops.yaml ``prices:``: ``{model: usd}`` for any provider,
    or ``{provider_name: {model: usd}}``; both win over the built-in table."""
    overrides = overrides or {}
    scoped = overrides.get(provider) if provider else None
    for table in (scoped if isinstance(scoped, dict) else {}, overrides):
        for key in (model, info.name):
            value = table.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
    return info.price(method, training_type)


def estimate_cost(billing_tokens: int, epochs: int, price: float | None) -> float | None:
    """Estimated training cost in USD, or None when the price is unknown."""
    if price is None:
        return None
    return round(billing_tokens * epochs * price / 1_000_000, 4)


def format_usd(value: float | None) -> str:
    """Dollars as people read them: cents, or four decimals for amounts under a cent; "unknown" for None."""
    if value is None:
        return "unknown"
    return f"${value:,.2f}" if value >= 0.01 or value == 0 else f"${value:,.4f}"
