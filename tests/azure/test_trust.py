"""The Entra token is a second credential of the azure-openai type, checked like the key: the management endpoint
https://management.azure.com and AZURE_ACCESS_TOKEN are a built-in binding; any other management URL needs a
trusted binding; a token that is not set is no error (azure-identity may find one), an unbound endpoint is."""

from __future__ import annotations

import pytest

from ftops.config import ProviderConfig
from ftops.errors import ConfigError
from ftops.providers.azure_openai import KIND
from ftops.trust import Trust

RESOURCE = "https://res.openai.azure.com/openai/v1"
DEPLOYING = {"base_url": RESOURCE, "subscription": "s", "resource_group": "rg", "account": "res"}


@pytest.fixture
def keys(monkeypatch):
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "key-1")
    monkeypatch.setenv("FTOPS_CREDENTIALS", f"AZURE_OPENAI_API_KEY={RESOURCE}")


def verdict(**options):
    return Trust.from_environment().verdict(ProviderConfig("az", "azure-openai", options), KIND)


def test_azures_own_management_endpoint_is_trusted_with_the_token(keys, monkeypatch):
    monkeypatch.setenv("AZURE_ACCESS_TOKEN", "tok-1")
    found = verdict(**DEPLOYING)
    assert (found.refused, found.key, found.credentials) == (None, "key-1", {"token": "tok-1"})


def test_without_the_token_variable_the_provider_opens_and_azure_identity_is_left_to_find_one(keys, monkeypatch):
    monkeypatch.delenv("AZURE_ACCESS_TOKEN", raising=False)
    found = verdict(**DEPLOYING)
    assert found.refused is None and found.credentials == {}


def test_another_management_url_is_refused_until_trusted_configuration_binds_it(keys, monkeypatch):
    monkeypatch.setenv("AZURE_ACCESS_TOKEN", "tok-1")
    found = verdict(**DEPLOYING, management_url="https://attacker.example")
    assert found.key is None and "binds AZURE_ACCESS_TOKEN to https://attacker.example" in found.refused
    assert 'FTOPS_CREDENTIALS="AZURE_ACCESS_TOKEN=https://attacker.example"' in found.hint
    monkeypatch.setenv("FTOPS_CREDENTIALS", f"AZURE_OPENAI_API_KEY={RESOURCE} "
                                            "AZURE_ACCESS_TOKEN=https://mgmt.sovereign.example")
    assert verdict(**DEPLOYING, management_url="https://mgmt.sovereign.example").credentials == {"token": "tok-1"}


def test_a_token_in_another_variable_is_bound_by_that_variable(keys, monkeypatch):
    monkeypatch.setenv("MY_TOKEN", "tok-2")
    refused = verdict(**DEPLOYING, token_env="MY_TOKEN")
    assert refused.refused and "MY_TOKEN" in refused.refused  # the built-in binding is for AZURE_ACCESS_TOKEN only
    monkeypatch.setenv("FTOPS_CREDENTIALS", f"AZURE_OPENAI_API_KEY={RESOURCE} MY_TOKEN=https://management.azure.com")
    assert verdict(**DEPLOYING, token_env="MY_TOKEN").credentials == {"token": "tok-2"}


def test_without_deployments_configured_only_the_key_is_a_credential(keys, monkeypatch):
    monkeypatch.setenv("AZURE_ACCESS_TOKEN", "tok-1")
    found = verdict(base_url=RESOURCE, management_url="https://attacker.example")
    assert found.refused is None and found.credentials == {}  # no subscription: no token goes anywhere


def test_a_trusted_config_binds_both_credentials(tmp_path, monkeypatch):
    import yaml

    trusted = tmp_path / "base.yaml"
    trusted.write_text(yaml.safe_dump({"providers": {"az": {"type": "azure-openai", **DEPLOYING,
                                                            "management_url": "https://mgmt.example"}}}))
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "key-1")
    monkeypatch.setenv("AZURE_ACCESS_TOKEN", "tok-1")
    found = Trust.from_environment(trusted).verdict(
        ProviderConfig("az", "azure-openai", {**DEPLOYING, "management_url": "https://mgmt.example"}), KIND)
    assert (found.key, found.credentials) == ("key-1", {"token": "tok-1"})


def test_a_token_with_a_line_break_is_refused_without_showing_it(keys, monkeypatch):
    monkeypatch.setenv("AZURE_ACCESS_TOKEN", "tok\n-1")
    with pytest.raises(ConfigError, match="AZURE_ACCESS_TOKEN contains a line break"):
        verdict(**DEPLOYING)
