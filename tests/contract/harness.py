"""What the contract suite needs to know about each provider type: which emulator dialect stands in for it, how
ftops.yaml names it, and a base model it offers. Add a provider type by adding one Harness here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from tests.conftest import TEST_KEY_ENV


@dataclass(frozen=True)
class Harness:
    name: str  # the provider type under test
    api: str  # the emulator dialect that stands in for it
    base_model: str
    block: Callable[[str], dict[str, Any]]  # the emulator's URL -> the provider's ftops.yaml entry
    spec_fields: dict[str, Any] = field(default_factory=dict)  # what a spec on it needs besides the basics
    keyed: bool = True  # False: the provider sends no key (the built-in emulator)
    emulator: dict[str, Any] = field(default_factory=dict)  # the emulator's settings besides the dialect
    # more credentials: variable -> (its value, the emulator's URL -> the endpoint trusted with it)
    credentials: dict[str, tuple[str, Callable[[str], str]]] = field(default_factory=dict)


def _origin(url: str) -> str:
    return url.removesuffix("/openai/v1")


HARNESSES = [
    Harness("openai", "openai", "gpt-4o-mini-2024-07-18",
            lambda url: {"type": "openai", "base_url": url, "api_key_env": TEST_KEY_ENV}),
    Harness("azure-openai", "openai", "gpt-4o-mini-2024-07-18",
            lambda url: {"type": "azure-openai", "base_url": url, "api_key_env": TEST_KEY_ENV}),
    # Azure with its deploy step: every model is deployed (ARM, with the Entra token) and the deployment is pinned;
    # provisioning takes no emulator time, so an apply without --wait pins it too
    Harness("azure-openai-deploy", "azure", "gpt-4.1-mini-2025-04-14",
            lambda url: {"type": "azure-openai", "base_url": url, "api_key_env": TEST_KEY_ENV, "subscription": "sub",
                         "resource_group": "rg", "account": "contract", "management_url": _origin(url)},
            spec_fields={"deploy": {"name": "contract"}}, emulator={"deploy_duration": 0.0},
            credentials={"AZURE_ACCESS_TOKEN": ("contract-token", _origin)}),
    Harness("together", "together", "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference",
            lambda url: {"type": "together", "base_url": url, "api_key_env": TEST_KEY_ENV}),
    Harness("fireworks", "fireworks", "accounts/fireworks/models/qwen3-8b",
            lambda url: {"type": "fireworks", "account": "acct-test", "base_url": url, "api_key_env": TEST_KEY_ENV}),
]
