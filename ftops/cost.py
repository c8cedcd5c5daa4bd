"""Epochs and training cost: the documented default-epoch heuristic and the price table.

Used by plans (estimates), dataset checks (--json output) and the local emulator (trained_tokens), so all three
agree on the numbers.
"""

from __future__ import annotations

from ftops import catalog

MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25
DEFAULT_EPOCHS = 3


def resolve_epochs(n_examples: int, n_epochs: int | str | None = "auto") -> int:
    """``n_epochs`` as the service resolves it: an explicit number, or the documented default heuristic."""
    if isinstance(n_epochs, int) and not isinstance(n_epochs, bool):
        return n_epochs
    n = max(1, int(n_examples))
    epochs = DEFAULT_EPOCHS
    if n * epochs < MIN_TARGET_EXAMPLES:
        epochs = min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // n)
    elif n * epochs > MAX_TARGET_EXAMPLES:
        epochs = max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // n)
    return epochs


def price_per_1m(model: str, overrides: dict[str, float] | None = None) -> float | None:
    """USD per 1M training tokens for a base (or ft:) model; ``overrides`` come from ftops.yaml ``prices:``."""
    info = catalog.lookup(model)
    for key in (model, catalog.base_of(model), info.name):
        if overrides and key in overrides:
            return float(overrides[key])
    return info.usd_per_1m_training_tokens


def estimate_cost(billing_tokens: int, epochs: int, model: str,
                  overrides: dict[str, float] | None = None) -> float | None:
    """Estimated training cost in USD, or None when the price is unknown."""
    price = price_per_1m(model, overrides)
    if price is None:
        return None
    return round(billing_tokens * epochs * price / 1_000_000, 4)


def format_usd(value: float | None) -> str:
    """Dollars as people read them: cents, or four decimals for amounts under a cent; "unknown" for None."""
    if value is None:
        return "unknown"
    return f"${value:,.2f}" if value >= 0.01 or value == 0 else f"${value:,.4f}"
