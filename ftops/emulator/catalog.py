"""The emulator's model tables, one per wire dialect (``tables/<api>.yaml``), read with the same parser as the
client's facts but from the emulator's own files."""

from __future__ import annotations

from ftops.catalog import Catalog, ModelInfo, load_catalog


def table(api: str = "openai") -> Catalog:
    return load_catalog("ftops.emulator", f"tables/{api}.yaml")


def base_of(model: str) -> str:
    """``ft:gpt-4o-mini-2024-07-18:org:suffix:id`` -> ``gpt-4o-mini-2024-07-18``."""
    if model.startswith("ft:"):
        parts = model.split(":")
        if len(parts) >= 2 and parts[1]:
            return parts[1]
    return model


def lookup(model: str, api: str = "openai") -> ModelInfo:
    return table(api).lookup(model, base_of)
