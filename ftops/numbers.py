"""Numbers as a user means them: ``3`` and ``3.0`` are the same number, so they fingerprint, compare and show the
same. Non-finite numbers (``.nan``, ``.inf``) are never values ftops accepts."""

from __future__ import annotations

import math
from typing import Any


def canonical(value: Any) -> Any:
    """``value`` with every integral float turned into an int, recursively (bools stay bools)."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value


def non_finite_paths(value: Any, path: tuple = ()) -> list[tuple]:
    """The key paths under ``value`` that hold NaN or an infinity."""
    if isinstance(value, float) and not math.isfinite(value):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in non_finite_paths(v, path + (k,))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in non_finite_paths(v, path + (i,))]
    return []
