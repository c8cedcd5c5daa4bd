"""Providers: build one from its ftops.yaml entry. httpx is used only inside this package.

- ``openai``: api.openai.com or any OpenAI-compatible ``base_url``; reads OPENAI_API_KEY (or ``api_key_env``),
  OPENAI_BASE_URL, OPENAI_ORG_ID, OPENAI_PROJECT_ID like the official SDK.
- ``azure-openai``: the Azure OpenAI v1 API (``{endpoint}/openai/v1``), ``api-key`` header, suffix <= 40.
- ``local``: the built-in emulator, started in-process on a loopback port with its state in ``.ftops/local``.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit
from dataclasses import replace
from typing import Any

import httpx

from ftops.config import ProjectConfig, ProviderConfig
from ftops.errors import ConfigError
from ftops.providers.base import Capabilities, Provider
from ftops.providers.http import HttpClient, RetryPolicy
from ftops.providers.openai_compat import OpenAICompatProvider

DEFAULT_OPENAI_URL = "https://api.openai.com/v1"


def _key(pconf: ProviderConfig, default_env: str) -> str:
    env = pconf.options.get("api_key_env", default_env)
    key = os.environ.get(env, "").strip()
    if not key:
        raise ConfigError(f"provider {pconf.name!r} needs an API key: set the {env} environment variable",
                          hint="or run `ftops plan --no-refresh`, which needs no credentials")
    return key


def _http(pconf: ProviderConfig, base_url: str, headers: dict[str, str], key: str,
          transport: httpx.BaseTransport | None, policy: RetryPolicy | None) -> HttpClient:
    policy = policy or RetryPolicy()
    if "max_retries" in pconf.options:
        policy = replace(policy, max_retries=int(pconf.options["max_retries"]))
    return HttpClient(provider=pconf.name, base_url=base_url, headers={"user-agent": "ftops", **headers},
                      secrets=(key,), timeout=float(pconf.options.get("timeout", 600)), policy=policy,
                      transport=transport)


class AzureOpenAIProvider(OpenAICompatProvider):
    type = "azure-openai"
    capabilities = Capabilities(max_suffix_length=40, suffix_charset="A-Za-z0-9_-")


class LocalProvider(OpenAICompatProvider):
    """The OpenAI-compatible client, pointed at an emulator this process started (and stops on close)."""

    type = "local"

    def __init__(self, name: str, http: HttpClient, emulator: Any):
        super().__init__(name, http)
        self.emulator = emulator

    def close(self) -> None:
        super().close()
        self.emulator.stop()


def provider_kind(pconf: ProviderConfig) -> str:
    """``openai`` only for OpenAI itself: its shutdown table and training cut-off do not bind an OpenAI-compatible
    gateway or self-hosted service, which is ``openai-compatible``."""
    if pconf.type != "openai":
        return pconf.type
    url = pconf.options.get("base_url") or os.environ.get("OPENAI_BASE_URL") or DEFAULT_OPENAI_URL
    return "openai" if urlsplit(url).hostname == urlsplit(DEFAULT_OPENAI_URL).hostname else "openai-compatible"


def capabilities_for(provider_type: str) -> Capabilities:
    """What a provider type accepts, known without contacting it (the plan checks specs against it)."""
    return {"azure-openai": AzureOpenAIProvider.capabilities}.get(provider_type, OpenAICompatProvider.capabilities)


def open_provider(pconf: ProviderConfig, project: ProjectConfig, *,
                  transport: httpx.BaseTransport | None = None, policy: RetryPolicy | None = None) -> Provider:
    if pconf.type == "openai":
        key = _key(pconf, "OPENAI_API_KEY")
        base_url = pconf.options.get("base_url") or os.environ.get("OPENAI_BASE_URL") or DEFAULT_OPENAI_URL
        headers = {"authorization": f"Bearer {key}"}
        for header, env in (("openai-organization", pconf.options.get("organization_env", "OPENAI_ORG_ID")),
                            ("openai-project", pconf.options.get("project_env", "OPENAI_PROJECT_ID"))):
            if os.environ.get(env):
                headers[header] = os.environ[env]
        return OpenAICompatProvider(pconf.name, _http(pconf, base_url, headers, key, transport, policy))
    if pconf.type == "azure-openai":
        base_url = pconf.options.get("base_url")
        if not base_url:
            raise ConfigError(f"provider {pconf.name!r} (azure-openai) needs base_url, e.g. "
                              "https://RESOURCE.openai.azure.com/openai/v1")
        key = _key(pconf, "AZURE_OPENAI_API_KEY")
        return AzureOpenAIProvider(pconf.name, _http(pconf, base_url, {"api-key": key}, key, transport, policy))
    if pconf.type == "local":
        from ftops.emulator import EmulatorConfig, start

        options = pconf.options
        emulator = start(EmulatorConfig(
            state_dir=project.state_dir / "local",
            job_duration=float(options.get("job_duration", 3.0)),
            fault_rate=float(options.get("fault_rate", 0.0)),
            fault_kinds=options.get("fault_kinds"),
            seed=int(options.get("seed", 0)),
            training_cutoff=options.get("training_cutoff"),
            shutdown_dates=options.get("shutdown_dates"),
        ))
        key = "ftops-local"
        return LocalProvider(pconf.name, _http(pconf, emulator.url, {"authorization": f"Bearer {key}"}, key,
                                               transport, policy), emulator)
    raise ConfigError(f"provider {pconf.name!r} has unknown type {pconf.type!r}")
