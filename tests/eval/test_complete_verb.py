"""The optional ``complete`` verb of every provider type that serves its models, against the emulator: OpenAI and
Azure OpenAI (chat and legacy completions), Together, Fireworks (once deployed, at ``/inference/v1``) and Ray
through its ``serve`` URL, which needs a trusted binding of its own. Retries are the training calls' retries."""

from __future__ import annotations

import httpx
import openai
import pytest

from ftops.config import ProviderConfig
from ftops.emulator import EmulatorConfig, start
from ftops.errors import ConfigError, NotFoundError
from ftops.providers import open_provider
from ftops.providers.http import RetryPolicy
from ftops.providers.inference import CompletionRequest
from ftops.providers.registry import kind as kind_of
from ftops.trust import Binding, Trust
from tests.eval import data

SYSTEM = data.SYSTEM


def _messages(text: str) -> tuple[dict, ...]:
    return ({"role": "system", "content": SYSTEM}, {"role": "user", "content": text})


def _trained(emu, rows, model="gpt-4o-mini-2024-07-18") -> str:
    client = openai.OpenAI(base_url=emu.url, api_key="k", max_retries=0)
    file_id = client.files.create(file=("t.jsonl", data.jsonl(rows)), purpose="fine-tune").id
    job = client.fine_tuning.jobs.create(model=model, training_file=file_id)
    httpx.post(f"{emu.admin_url}/clock", json={"advance": 30})
    return client.fine_tuning.jobs.retrieve(job.id).fine_tuned_model


@pytest.fixture
def openai_emu(tmp_path):
    with start(EmulatorConfig(state_dir=tmp_path / "oa", job_duration=5.0)) as emu:
        yield emu


def _open(pconf: ProviderConfig, trust: Trust, tmp_path, **kw):
    from ftops.config import ProjectConfig

    project = ProjectConfig(root=tmp_path, project="p", project_source="ftops.yaml", spec_globs=("specs/*.yaml",),
                            lockfile=tmp_path / "ftops.lock", default_provider=pconf.name,
                            providers={pconf.name: pconf}, prices={}, budget_usd=None, allow_paths=(), warn_days=180,
                            config_file=None)
    return open_provider(pconf, project, trust=trust, policy=RetryPolicy(sleep=lambda s: None), **kw)


def test_openai_and_azure_clients_call_chat_and_legacy_completions_with_logprobs(openai_emu, tmp_path, monkeypatch):
    model = _trained(openai_emu, data.rows(data.train_pairs()))
    legacy = _trained(openai_emu, data.rows(data.train_pairs(), "pc"), model="babbage-002")
    monkeypatch.setenv("EMU_KEY", "k")
    trust = Trust([Binding("EMU_KEY", openai_emu.url, "test")])
    for pconf in (ProviderConfig("oa", "openai", {"base_url": openai_emu.url, "api_key_env": "EMU_KEY"}),
                  ProviderConfig("az", "azure-openai", {"base_url": openai_emu.url, "api_key_env": "EMU_KEY"})):
        client = _open(pconf, trust, tmp_path)
        assert "complete" in client.capabilities.verbs
        found = client.complete(CompletionRequest(model, messages=_messages("I was charged twice"),
                                                  max_tokens=5, top_logprobs=3))
        assert found.text == "billing" and found.finish_reason == "stop"
        assert found.first_token[0][0] == "billing" and {t for t, _ in found.first_token} == \
               {"billing", "bug", "account"}
        assert found.prompt_tokens and found.completion_tokens == 1
        old = client.complete(CompletionRequest(legacy, prompt="Update my card details\n\n###\n\n", stop=("\n",),
                                                top_logprobs=2))
        assert old.text.strip() == "billing" and len(old.first_token) == 2
        with pytest.raises(NotFoundError):
            client.complete(CompletionRequest("ft:missing", messages=_messages("x")))
        client.close()


def test_a_call_is_retried_like_training_calls(openai_emu, tmp_path, monkeypatch):
    httpx.post(f"{openai_emu.admin_url}/faults", json={"rate": 0.6, "kinds": ["429", "503", "drop"], "seed": 5})
    monkeypatch.setenv("EMU_KEY", "k")
    client = _open(ProviderConfig("oa", "openai", {"base_url": openai_emu.url, "api_key_env": "EMU_KEY",
                                                   "max_retries": 10}),
                   Trust([Binding("EMU_KEY", openai_emu.url, "test")]), tmp_path)
    for _ in range(5):
        assert client.complete(CompletionRequest("gpt-4o-mini", messages=_messages("hi"))).text
    client.close()


def test_together_client_calls_its_openai_compatible_endpoint(tmp_path, monkeypatch):
    with start(EmulatorConfig(state_dir=tmp_path / "tg", api="together", job_duration=5.0)) as emu:
        monkeypatch.setenv("TG_KEY", "k")
        client = _open(ProviderConfig("tg", "together", {"base_url": emu.url, "api_key_env": "TG_KEY"}),
                       Trust([Binding("TG_KEY", emu.url, "test")]), tmp_path)
        found = client.complete(CompletionRequest("meta-llama/Meta-Llama-3.1-8B-Instruct-Reference",
                                                  messages=_messages("I was charged twice"), top_logprobs=2))
        assert found.text and found.first_token and found.prompt_tokens
        client.close()


def test_fireworks_client_calls_inference_v1_on_the_same_origin_once_deployed(tmp_path, monkeypatch):
    with start(EmulatorConfig(state_dir=tmp_path / "fw", api="fireworks", job_duration=5.0)) as emu:
        monkeypatch.setenv("FW_KEY", "k")
        client = _open(ProviderConfig("fw", "fireworks", {"base_url": emu.url, "api_key_env": "FW_KEY",
                                                          "account": "acct"}),
                       Trust([Binding("FW_KEY", emu.url, "test")]), tmp_path)
        base = "accounts/fireworks/models/qwen3-8b"
        assert client.complete(CompletionRequest(base, messages=_messages("hi"))).text
        with pytest.raises(NotFoundError, match="not deployed"):
            client.complete(CompletionRequest("accounts/acct/models/none", messages=_messages("hi")))
        client.close()


def test_ray_calls_its_serve_url_only_with_a_trusted_binding_of_its_own(openai_emu, tmp_path, monkeypatch):
    model = _trained(openai_emu, data.rows(data.train_pairs()))
    pconf = ProviderConfig("gpu", "ray", {"address": "http://127.0.0.1:9", "artifacts": "file:///tmp/ftops-art",
                                          "serve": {"url": openai_emu.url, "api_key_env": "SERVE_KEY"}})
    assert "complete" in kind_of("ray").effective(pconf).capabilities.verbs
    assert "complete" not in kind_of("ray").effective(ProviderConfig("gpu", "ray", {
        "address": "http://127.0.0.1:9", "artifacts": "file:///tmp/x"})).capabilities.verbs
    monkeypatch.setenv("SERVE_KEY", "serve-secret")
    unbound = _open(pconf, Trust([]), tmp_path)  # training does not need the serve URL: the provider opens
    with pytest.raises(ConfigError, match="no trusted configuration binds SERVE_KEY"):
        unbound.complete(CompletionRequest(model, messages=_messages("I was charged twice")))
    unbound.close()
    bound = _open(pconf, Trust([Binding("SERVE_KEY", openai_emu.url, "test")]), tmp_path)
    assert bound.complete(CompletionRequest(model, messages=_messages("I was charged twice"))).text == "billing"
    bound.close()
    from ftops.providers.ray.settings import Serve

    assert Serve("http://x/v1", model="{name}").model_name("file:///art/proj/spec/abc123") == "abc123"
    assert Serve("http://x/v1").model_name("file:///art/proj/spec/abc123") == "file:///art/proj/spec/abc123"


def test_a_ray_serve_url_over_plain_http_elsewhere_than_loopback_is_a_config_problem():
    pconf = ProviderConfig("gpu", "ray", {"address": "http://127.0.0.1:9", "artifacts": "file:///tmp/x",
                                          "serve": {"url": "http://gpu-box.internal:8000/v1"}})
    assert any("serve.url" in p for p in kind_of("ray").config_problems(pconf))
