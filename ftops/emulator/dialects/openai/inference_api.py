"""OpenAI's inference endpoints on the wire: ``POST /v1/chat/completions`` (``logprobs: true`` + ``top_logprobs``,
answered as ``logprobs.content[]``) and the legacy ``POST /v1/completions`` (``logprobs: N``, answered as
``tokens`` / ``token_logprobs`` / ``top_logprobs`` / ``text_offset``). The model logic is the core's
(``ftops.emulator.inference``); Fireworks' OpenAI-compatible inference uses these shapes too."""

from __future__ import annotations

import secrets
from typing import Any

from ftops.emulator import inference
from ftops.emulator.apierror import bad_request
from ftops.emulator.httpio import Request
from ftops.emulator.inference import Answer, Prompt, Sampling
from ftops.emulator.state import Tx

MAX_N = 8
SYSTEM_FINGERPRINT = "fp_ftops_emulator"


def chat_sampling(body: dict) -> Sampling:
    inference.no_stream(body)
    inference.number(body, "temperature", 0, 2)
    inference.number(body, "top_p", 0, 1)
    max_tokens = inference.integer(body, "max_completion_tokens", 1, 1_000_000)
    if max_tokens is None:
        max_tokens = inference.integer(body, "max_tokens", 1, 1_000_000)
    logprobs = body.get("logprobs")
    if logprobs is not None and not isinstance(logprobs, bool):
        raise bad_request("Invalid value for 'logprobs': expected a boolean.", param="logprobs")
    top = inference.integer(body, "top_logprobs", 0, 20)
    if top is not None and not logprobs:
        raise bad_request("Invalid value for 'top_logprobs': 'logprobs' must be set to true to use it.",
                          param="top_logprobs")
    return Sampling(max_tokens=max_tokens, stop=inference.stops(body), top_logprobs=top or 0,
                    logprobs=bool(logprobs), n=inference.integer(body, "n", 1, MAX_N) or 1)


def completion_sampling(body: dict) -> Sampling:
    inference.no_stream(body)
    inference.number(body, "temperature", 0, 2)
    inference.number(body, "top_p", 0, 1)
    if body.get("echo"):
        raise bad_request("The ftops emulator does not echo prompts; send the request without 'echo'.",
                          param="echo")
    max_tokens = inference.integer(body, "max_tokens", 0, 1_000_000)
    top = inference.integer(body, "logprobs", 0, 5)
    return Sampling(max_tokens=16 if max_tokens is None else max_tokens, stop=inference.stops(body),
                    top_logprobs=top or 0, logprobs=top is not None, n=inference.integer(body, "n", 1, MAX_N) or 1)


def content_logprobs(found: Answer) -> dict[str, Any]:
    return {"content": [{"token": t.text, "logprob": t.logprob, "bytes": list(t.raw),
                         "top_logprobs": [{"token": a, "logprob": lp, "bytes": list(r)} for a, r, lp in t.top]}
                        for t in found.tokens], "refusal": None}


def legacy_logprobs(found: Answer, prompt: str) -> dict[str, Any]:
    offsets, at = [], len(prompt)
    for t in found.tokens:
        offsets.append(at)
        at += len(t.text)
    return {"tokens": [t.text for t in found.tokens], "token_logprobs": [t.logprob for t in found.tokens],
            "top_logprobs": [{a: lp for a, _, lp in t.top} for t in found.tokens], "text_offset": offsets}


def usage(found: Answer, *, details: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"prompt_tokens": found.prompt_tokens, "completion_tokens": found.completion_tokens,
                           "total_tokens": found.total_tokens}
    if details:
        out["prompt_tokens_details"] = {"cached_tokens": 0, "audio_tokens": 0}
        out["completion_tokens_details"] = {"reasoning_tokens": 0, "audio_tokens": 0,
                                            "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
    return out


def chat_body(tx: Tx, found: Answer, sampling: Sampling) -> dict[str, Any]:
    choice: dict[str, Any] = {"message": {"role": "assistant", "content": found.text, "refusal": None, "annotations": []},
              "logprobs": content_logprobs(found) if sampling.logprobs else None,
              "finish_reason": found.finish_reason}
    return {"id": "chatcmpl-" + secrets.token_hex(14), "object": "chat.completion", "created": int(tx.now),
            "model": found.model, "choices": [{"index": i, **choice} for i in range(sampling.n)],
            "usage": usage(found), "service_tier": "default", "system_fingerprint": SYSTEM_FINGERPRINT}


def completion_body(tx: Tx, found: Answer, sampling: Sampling, prompt: str) -> dict[str, Any]:
    choice = {"text": found.text, "logprobs": legacy_logprobs(found, prompt) if sampling.logprobs else None,
              "finish_reason": found.finish_reason}
    return {"id": "cmpl-" + secrets.token_hex(14), "object": "text_completion", "created": int(tx.now),
            "model": found.model, "choices": [{"index": i, **choice} for i in range(sampling.n)],
            "usage": usage(found, details=False), "system_fingerprint": SYSTEM_FINGERPRINT}


def chat(tx: Tx, req: Request) -> dict[str, Any]:
    body = req.json()
    model, messages, sampling = inference.model_of(body), inference.messages_of(body), chat_sampling(body)
    found = inference.run(tx, model, Prompt(messages=messages), sampling, legacy=False)
    return chat_body(tx, found, sampling)


def completions(tx: Tx, req: Request) -> dict[str, Any]:
    body = req.json()
    model, prompt, sampling = inference.model_of(body), inference.prompt_of(body), completion_sampling(body)
    found = inference.run(tx, model, Prompt(text=prompt), sampling, legacy=True)
    return completion_body(tx, found, sampling, prompt)
