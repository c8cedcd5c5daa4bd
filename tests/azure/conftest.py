"""Fixtures for the Azure OpenAI tests: the emulator speaking the azure dialect on loopback (the v1 data plane
under /openai/v1 and ARM deployments at its origin) and a project whose provider ``az`` points at both, with the
API key bound to the data plane and the Entra token (AZURE_ACCESS_TOKEN) bound to the emulator's management
endpoint, as trusted configuration outside the repository would."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import yaml

from ftops.emulator import EmulatorConfig, start
from tests.conftest import TEST_KEY_ENV, Project

TOKEN_ENV = "AZURE_ACCESS_TOKEN"
TOKEN = "entra-token-not-a-secret"
SUB, RG, ACCOUNT = "0000-sub", "rg-ft", "acct-ft"
BASE = "gpt-4.1-mini-2025-04-14"
ARM = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.CognitiveServices/accounts/{ACCOUNT}/deployments"


class AzureProject(Project):
    def provider(self, **options: Any) -> None:
        block = {"type": "azure-openai", "base_url": self.emu.url, "api_key_env": TEST_KEY_ENV, "subscription": SUB,
                 "resource_group": RG, "account": ACCOUNT, "management_url": self.emu.origin, "max_retries": 2,
                 **options}
        self.write("ftops.yaml", yaml.safe_dump({"project": "azproj", "default_provider": "az",
                                                "providers": {"az": {k: v for k, v in block.items()
                                                                     if v is not None}}}, sort_keys=False))

    def spec(self, name: str, **fields: Any):
        return super().spec(name, **{"base_model": BASE, **fields})

    def deployments(self) -> dict[str, dict[str, Any]]:
        """The emulator's deployments by name."""
        return {d["name"]: d for d in self.admin("GET", "state")["deployments"]}

    def arm(self, method: str, name: str = "", body: dict | None = None) -> httpx.Response:
        """ARM as a user would call it (az cli / portal), with a token."""
        return httpx.request(method, f"{self.emu.origin}{ARM}{'/' + name if name else ''}",
                             params={"api-version": "2024-10-21"}, json=body,
                             headers={"authorization": f"Bearer {TOKEN}"}, timeout=30)

    def entry(self, name: str) -> dict[str, Any]:
        return self.lock()["models"][name]


@pytest.fixture
def azure_emu(tmp_path):
    with start(EmulatorConfig(state_dir=tmp_path / "azure-state", api="azure", job_duration=10.0,
                              deploy_duration=30.0)) as emulator:
        yield emulator


@pytest.fixture
def az(tmp_path, azure_emu, monkeypatch) -> AzureProject:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    root = tmp_path / "proj"
    root.mkdir()
    project = AzureProject(root, azure_emu, bind={TEST_KEY_ENV: azure_emu.url, TOKEN_ENV: azure_emu.origin})
    project.provider()
    return project
