"""A client that listed the provider's files before it held the lease lists them again once it holds it: another
machine may have uploaded the same content meanwhile, and that upload is reused, never sent a second time (OpenAI's
and Together's clients both keep their listing in ``ftops.providers.filelisting``)."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from ftops.config import ProjectConfig, ProviderConfig
from ftops.emulator import EmulatorConfig, start
from ftops.lease import Leases
from ftops.providers import open_provider
from ftops.providers.http import RetryPolicy
from ftops.trust import Binding, Trust


def _client(emu, api: str, tmp_path):
    pconf = ProviderConfig("p", api, {"base_url": emu.url, "api_key_env": "LEASE_TEST_KEY"})
    project = ProjectConfig(root=tmp_path, project="p", project_source="ftops.yaml", spec_globs=("specs/*.yaml",),
                            lockfile=tmp_path / "ftops.lock", default_provider="p", providers={"p": pconf},
                            prices={}, budget_usd=None, allow_paths=(), warn_days=180, config_file=None)
    return open_provider(pconf, project, trust=Trust([Binding("LEASE_TEST_KEY", emu.url, "test")]),
                         policy=RetryPolicy(sleep=lambda s: None))


@pytest.mark.parametrize("api", ["openai", "together"])
def test_an_upload_made_elsewhere_before_the_lease_is_reused_under_it(api, tmp_path, monkeypatch):
    monkeypatch.setenv("LEASE_TEST_KEY", "fake-lease-test-key")
    data = tmp_path / "train.jsonl"
    data.write_text('{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}\n' * 12)
    sha = hashlib.sha256(data.read_bytes()).hexdigest()
    with start(EmulatorConfig(state_dir=tmp_path / "emu", api=api)) as emu:
        here, elsewhere = _client(emu, api, tmp_path), _client(emu, api, tmp_path)
        try:
            assert here.staged_file(data, sha) is None  # listed (and kept) while nothing was there
            uploaded = elsewhere.stage_file(data, sha256=sha)
            assert not uploaded.reused
            leases = Leases("p", wait=5, sleep=lambda s: None)
            with leases.hold(here):
                again = here.stage_file(data, sha256=sha)
            leases.release_all(lambda name: here)
        finally:
            here.close()
            elsewhere.close()
        files = httpx.get(f"{emu.admin_url}/state").json()["core"]["files"]
    assert again.reused and again.id == uploaded.id
    datasets = [f for f in files if "lease" not in str(f.get("filename"))]
    assert [f["id"] for f in datasets] == [uploaded.id], files
