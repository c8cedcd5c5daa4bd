"""The one place provider types are registered: type name -> the module attribute holding its ``ProviderKind``.

Kinds are imported on first use, so reading ftops.yaml or printing --help imports no provider's HTTP code.
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from typing import TYPE_CHECKING

from ftops.errors import ConfigError

if TYPE_CHECKING:
    from ftops.catalog import ModelInfo
    from ftops.providers.kind import ProviderKind

KINDS: dict[str, str] = {
    "openai": "ftops.providers.openai:KIND",
    "azure-openai": "ftops.providers.azure_openai:KIND",
    "together": "ftops.providers.together:KIND",
    "fireworks": "ftops.providers.fireworks:KIND",
    "local": "ftops.providers.local:KIND",
    "ray": "ftops.providers.ray:KIND",
}


def types() -> tuple[str, ...]:
    return tuple(KINDS)


@lru_cache(maxsize=None)
def kind(type_name: str) -> ProviderKind:
    """The provider kind registered as ``type_name``; a ConfigError that lists the known types otherwise."""
    where = KINDS.get(type_name)
    if where is None:
        raise ConfigError(f"unknown provider type {type_name!r}; known types: {', '.join(KINDS)}")
    module, _, attribute = where.partition(":")
    return getattr(importlib.import_module(module), attribute)


def model_facts(model: str) -> tuple[ProviderKind | None, ModelInfo]:
    """The first provider type whose table knows ``model``, and its facts; (None, unknown) when none does."""
    for type_name in KINDS:
        found = kind(type_name)
        info = found.lookup(model)
        if info.known:
            return found, info
    return None, kind("openai").lookup(model)
