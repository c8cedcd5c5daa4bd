"""Inference in the emulator, driven with the official openai SDK: a fine-tuned model answers from what it was
trained on (so a classifier gets held-out labels right and its base model does not), with OpenAI's logprobs and
usage shapes; the legacy completions endpoint; continued models; a model made worse; faults; errors."""

from __future__ import annotations

import math

import httpx
import openai
import pytest

from ftops import tokens
from ftops.emulator import EmulatorConfig, start
from tests.eval import data

from .support import Admin, jsonl, sdk

BASE = "gpt-4o-mini-2024-07-18"


def train(client, admin, rows, model: str = BASE, **kw) -> str:
    file_id = client.files.create(file=("train.jsonl", jsonl(rows)), purpose="fine-tune").id
    job = client.fine_tuning.jobs.create(model=model, training_file=file_id, **kw)
    admin.advance(10)
    done = client.fine_tuning.jobs.retrieve(job.id)
    assert done.status == "succeeded", done.error
    return done.fine_tuned_model


def ask(client, model: str, text: str, **kw):
    return client.chat.completions.create(model=model, temperature=0, max_tokens=5, messages=[
        {"role": "system", "content": data.SYSTEM}, {"role": "user", "content": text}], **kw)


def accuracy(client, model: str) -> float:
    held = data.held_out_pairs()
    return sum(ask(client, model, text).choices[0].message.content == label for text, label in held) / len(held)


def test_a_fine_tuned_classifier_gets_held_out_labels_right_and_its_base_model_does_not(client, admin):
    model = train(client, admin, data.rows(data.train_pairs()))
    assert accuracy(client, model) >= 0.9
    assert accuracy(client, BASE) == 0.0
    base = ask(client, BASE, "The export button does nothing")
    assert base.choices[0].message.content == ask(client, BASE, "anything else").choices[0].message.content


def test_chat_answers_have_openais_shape_usage_and_logprobs(client, admin):
    model = train(client, admin, data.rows(data.train_pairs()))
    messages = [{"role": "system", "content": data.SYSTEM}, {"role": "user", "content": "I was charged twice"}]
    answer = client.chat.completions.create(model=model, messages=messages, logprobs=True, top_logprobs=3,
                                            max_completion_tokens=5)
    assert answer.object == "chat.completion" and answer.id.startswith("chatcmpl-") and answer.model == model
    choice = answer.choices[0]
    assert (choice.message.content, choice.finish_reason, choice.message.role) == ("billing", "stop", "assistant")
    enc = tokens.get_encoding("o200k_base")
    assert answer.usage.prompt_tokens == tokens.count_messages(messages, enc)
    assert answer.usage.completion_tokens == len(enc.encode("billing"))
    assert answer.usage.total_tokens == answer.usage.prompt_tokens + answer.usage.completion_tokens
    first = choice.logprobs.content[0]
    assert first.token == "billing" and bytes(first.bytes) == b"billing"
    alternatives = [t.token for t in first.top_logprobs]
    assert alternatives[0] == "billing" and set(alternatives) == {"billing", "bug", "account"}
    assert math.isclose(sum(math.exp(t.logprob) for t in first.top_logprobs), 1.0, abs_tol=1e-3)
    assert first.logprob == first.top_logprobs[0].logprob > math.log(0.5)
    assert client.chat.completions.create(model=model, messages=messages).choices[0].logprobs is None
    cut = client.chat.completions.create(model=BASE, messages=messages, max_tokens=2)
    assert cut.choices[0].finish_reason == "length" and cut.usage.completion_tokens == 2
    two = client.chat.completions.create(model=model, messages=messages, n=2)
    assert [c.index for c in two.choices] == [0, 1]


def test_legacy_completions_answer_prompt_completion_models_with_stop_and_logprobs(client, admin):
    model = train(client, admin, data.rows(data.train_pairs(), "pc"), model="babbage-002")
    held = data.held_out_pairs()
    right = 0
    for text, label in held:
        answer = client.completions.create(model=model, prompt=f"{text}\n\n###\n\n", max_tokens=5, stop=["\n"],
                                           logprobs=3, temperature=0)
        right += answer.choices[0].text.strip() == label
    assert right / len(held) >= 0.9
    assert answer.object == "text_completion" and answer.choices[0].finish_reason == "stop"
    logprobs = answer.choices[0].logprobs
    assert logprobs.tokens == [answer.choices[0].text] and len(logprobs.top_logprobs[0]) == 3
    assert logprobs.text_offset == [len(f"{text}\n\n###\n\n")]
    enc = tokens.get_encoding("cl100k_base")  # babbage-002's encoding in the emulator's table
    assert answer.usage.prompt_tokens == len(enc.encode(f"{text}\n\n###\n\n"))
    assert client.completions.create(model="babbage-002", prompt="x", max_tokens=3).choices[0].finish_reason == "length"
    with pytest.raises(openai.NotFoundError, match="not a chat model"):
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.NotFoundError, match="is a chat model"):
        client.completions.create(model=BASE, prompt="hi")


def test_a_continued_model_knows_its_parents_examples_too(client, admin):
    pairs = data.train_pairs()
    parent = train(client, admin, data.rows([p for p in pairs if p[1] != "account"]))
    assert ask(client, parent, "I want to delete my account").choices[0].message.content != "account"
    child = train(client, admin, data.rows([p for p in pairs if p[1] == "account"]), model=parent)
    assert ask(client, child, "I want to delete my account").choices[0].message.content == "account"
    assert ask(client, child, "I was charged twice").choices[0].message.content == "billing"  # from the parent


def test_a_degraded_model_answers_worse_and_a_job_can_be_degraded_before_its_model_exists(client, admin):
    model = train(client, admin, data.rows(data.train_pairs()))
    good = accuracy(client, model)
    admin.post(f"/models/{model}/degrade", {"strength": 0.7})
    worse = accuracy(client, model)
    assert worse < good - 0.3
    assert accuracy(client, model) == worse  # deterministic
    file_id = client.files.create(file=("t.jsonl", jsonl(data.rows(data.train_pairs()))), purpose="fine-tune").id
    job = client.fine_tuning.jobs.create(model=BASE, training_file=file_id, suffix="later")
    admin.post(f"/jobs/{job.id}/degrade", {"strength": 1.0})
    admin.advance(10)
    assert accuracy(client, client.fine_tuning.jobs.retrieve(job.id).fine_tuned_model) <= 0.1
    with pytest.raises(httpx.HTTPStatusError):
        admin.post(f"/models/{model}/degrade", {"strength": 2})


def test_unknown_and_shut_down_models_are_404_model_not_found(client, admin, raw):
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="ft:nope", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.code == "model_not_found"
    admin.post("/models", {"id": BASE, "shutdown_date": "2020-01-01"})
    with pytest.raises(openai.NotFoundError, match="deprecated"):
        client.chat.completions.create(model=BASE, messages=[{"role": "user", "content": "hi"}])
    bad = raw.post("/chat/completions", json={"model": "gpt-4.1", "messages": []})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "messages"
    bad = raw.post("/chat/completions", json={"model": "gpt-4.1", "messages": [{"role": "user", "content": "x"}],
                                              "top_logprobs": 2})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "top_logprobs"
    assert raw.post("/chat/completions", json={"model": "gpt-4.1", "stream": True, "messages": [
        {"role": "user", "content": "x"}]}).status_code == 400


def test_faults_apply_to_inference_as_to_every_api_request(emu, admin):
    admin.post("/faults", {"rate": 1.0, "kinds": ["429"]})
    with sdk(emu) as impatient:
        with pytest.raises(openai.RateLimitError):
            impatient.chat.completions.create(model=BASE, messages=[{"role": "user", "content": "hi"}])
    admin.post("/faults", {"rate": 0.5, "kinds": ["429", "500", "503"], "seed": 3})
    with sdk(emu, max_retries=8) as patient:
        for _ in range(5):
            assert patient.chat.completions.create(model=BASE, messages=[{"role": "user", "content": "hi"}]).choices
    assert admin.http.get("/faults").json()["requests"] > 5


def test_the_parsed_training_examples_are_cached_per_training_file(tmp_path):
    from ftops.emulator import inference

    with start(EmulatorConfig(state_dir=tmp_path / "s", job_duration=1.0)) as emu, sdk(emu) as client:
        admin = Admin(emu)
        model = train(client, admin, data.rows(data.train_pairs()))
        ask(client, model, "I was charged twice")
        job = admin.state()["core"]["jobs"][0]
        (tmp_path / "s" / "blobs" / job["training_file"]).unlink()  # a request no longer reads the blob
        assert ask(client, model, "I was charged twice").choices[0].message.content == "billing"
        assert any(key[1] == job["training_file"] for key in inference._files)
        admin.http.close()
