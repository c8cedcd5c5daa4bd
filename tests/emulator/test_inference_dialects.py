"""Inference in the Together and Fireworks dialects: the same core answers (a fine-tune answers from what it was
trained on, a base model does not know the task), on each provider's own paths and in its own shapes, driven with
each provider's official SDK where it has an inference call."""

from __future__ import annotations

import httpx
import pytest

from ftops.emulator import EmulatorConfig, start
from tests.eval import data

from .support import Admin, jsonl

LLAMA = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
FW_BASE = "accounts/fireworks/models/qwen3-8b"
ACCOUNT = "acct-1"


def _messages(text: str) -> list[dict]:
    return [{"role": "system", "content": data.SYSTEM}, {"role": "user", "content": text}]


@pytest.fixture
def together_emu(tmp_path):
    with start(EmulatorConfig(state_dir=tmp_path / "tg", api="together", job_duration=5.0)) as emu:
        yield emu


@pytest.fixture
def fireworks_emu(tmp_path):
    with start(EmulatorConfig(state_dir=tmp_path / "fw", api="fireworks", job_duration=5.0)) as emu:
        yield emu


def test_together_serves_fine_tunes_and_base_models_at_its_openai_compatible_paths(together_emu):
    import together

    admin = Admin(together_emu)
    with httpx.Client(base_url=together_emu.url, headers={"authorization": "Bearer tg"}, timeout=10) as raw:
        uploaded = raw.post("/files/upload", data={"purpose": "fine-tune", "file_name": "t.jsonl"},
                            files={"file": ("t.jsonl", jsonl(data.rows(data.train_pairs())))}).json()
        job = raw.post("/fine-tunes", json={"training_file": uploaded["id"], "model": LLAMA, "suffix": "tickets"})
        admin.advance(10)
        model = raw.get(f"/fine-tunes/{job.json()['id']}").json()["model_output_name"]
        with together.Together(base_url=together_emu.origin, api_key="tg", max_retries=0) as tg:
            held = data.held_out_pairs()
            answers = [tg.chat.completions.create(model=model, messages=_messages(t), max_tokens=5) for t, _ in held]
            assert sum(a.choices[0].message.content == label for a, (_, label) in zip(answers, held)) >= 0.9 * len(held)
            base = tg.chat.completions.create(model=LLAMA, messages=_messages(held[0][0]))
            assert base.choices[0].message.content not in ("billing", "bug", "account")
            scored = tg.chat.completions.create(model=model, messages=_messages("I was charged twice"), logprobs=3)
            assert scored.choices[0].logprobs.tokens == ["billing"]
            assert scored.usage.total_tokens == scored.usage.prompt_tokens + scored.usage.completion_tokens
            legacy = tg.completions.create(model=model, prompt="Update my card details", max_tokens=5)
            assert legacy.choices[0].text == "billing" and legacy.object == "text.completion"
        top = raw.post("/chat/completions", json={"model": model, "messages": _messages("I was charged twice"),
                                                  "logprobs": 3}).json()["choices"][0]["logprobs"]["top_logprobs"]
        assert set(top[0]) == {"billing", "bug", "account"}
        missing = raw.post("/chat/completions", json={"model": "nope/none", "messages": _messages("x")})
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "model_not_found"
    admin.http.close()


def _fireworks_model(raw: httpx.Client, admin: Admin) -> str:
    root = f"/v1/accounts/{ACCOUNT}"
    raw.post(f"{root}/datasets", json={"datasetId": "train", "dataset": {"exampleCount": "57", "userUploaded": {}}})
    raw.post(f"{root}/datasets/train:upload", files={"file": ("t.jsonl", jsonl(data.rows(data.train_pairs())))})
    raw.post(f"{root}/datasets/train:validateUpload", json={})
    raw.post(f"{root}/supervisedFineTuningJobs", params={"supervisedFineTuningJobId": "job-1"},
             json={"dataset": f"accounts/{ACCOUNT}/datasets/train", "baseModel": FW_BASE, "outputModel": "tickets"})
    admin.advance(10)
    return f"accounts/{ACCOUNT}/models/tickets"


def test_fireworks_serves_a_fine_tune_only_once_deployed_and_base_models_serverless(fireworks_emu):
    admin = Admin(fireworks_emu)
    with httpx.Client(base_url=fireworks_emu.url, headers={"authorization": "Bearer fw"}, timeout=10) as raw:
        model = _fireworks_model(raw, admin)
        ask = {"messages": _messages("I was charged twice"), "max_tokens": 5}
        refused = raw.post("/inference/v1/chat/completions", json={"model": model, **ask})
        assert refused.status_code == 404 and refused.json()["error"]["object"] == "error"
        assert "not deployed" in refused.json()["error"]["message"]
        raw.post(f"/v1/accounts/{ACCOUNT}/deployments", params={"deploymentId": "prod"},
                 json={"baseModel": FW_BASE, "enableAddons": True})
        admin.advance(5)
        raw.post(f"/v1/accounts/{ACCOUNT}/deployedModels",
                 json={"model": model, "deployment": f"accounts/{ACCOUNT}/deployments/prod"})
        admin.advance(5)
        pinned = f"{model}#accounts/{ACCOUNT}/deployments/prod"
        answer = raw.post("/inference/v1/chat/completions", json={"model": pinned, **ask, "logprobs": True,
                                                                  "top_logprobs": 3}).json()
        assert answer["choices"][0]["message"]["content"] == "billing" and answer["model"] == pinned
        assert {t["token"] for t in answer["choices"][0]["logprobs"]["content"][0]["top_logprobs"]} == \
               {"billing", "bug", "account"}
        other = raw.post("/inference/v1/chat/completions",
                         json={"model": f"{model}#accounts/{ACCOUNT}/deployments/other", **ask})
        assert other.status_code == 404
        base = raw.post("/inference/v1/chat/completions", json={"model": FW_BASE, **ask}).json()
        assert base["choices"][0]["message"]["content"] not in ("billing", "bug", "account")
        legacy = raw.post("/inference/v1/completions", json={"model": pinned, "prompt": "Refund my payment",
                                                             "logprobs": 2}).json()["choices"][0]
        assert legacy["text"] == "billing" and len(legacy["logprobs"]["top_logprobs"][0]) == 2
        assert raw.post("/inference/v1/chat/completions", json={"model": FW_BASE, **ask},
                        headers={"authorization": ""}).status_code == 401

        from fireworks import Fireworks

        with Fireworks(api_key="fw", account_id=ACCOUNT, base_url=fireworks_emu.url, max_retries=0) as fw:
            sdk_answer = fw.chat.completions.create(model=pinned, messages=_messages("Update my card details"))
            assert sdk_answer.choices[0].message.content == "billing"
    admin.http.close()
