"""Together's inference endpoints on the wire: ``POST /v1/chat/completions`` and ``POST /v1/completions`` (the
``together`` SDK's ``chat.completions.create`` and ``completions.create``). ``logprobs`` is an integer, the number
of alternatives per position (0-20; ``true`` from an OpenAI client reads as 1), answered as Together's ``LogProbs``:
``tokens``, ``token_ids``, ``token_logprobs`` and ``top_logprobs`` (one ``{token: logprob}`` per position). The model
logic is the core's (``ftops.emulator.inference``)."""

from __future__ import annotations

import secrets
from typing import Any

from ftops.emulator import inference
from ftops.emulator.apierror import bad_request
from ftops.emulator.httpio import Request
from ftops.emulator.inference import Answer, Prompt, Sampling
from ftops.emulator.state import Tx

MAX_N = 8


def sampling_of(body: dict, *, default_max: int | None) -> Sampling:
    inference.no_stream(body)
    inference.number(body, "temperature", 0, 2)
    inference.number(body, "top_p", 0, 1)
    raw = body.get("logprobs")
    if raw is True:
        raw = max(1, body.get("top_logprobs") or 1) if isinstance(body.get("top_logprobs"), int) else 1
    elif raw is False:
        raw = None
    if raw is not None and (isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= 20):
        raise bad_request("Invalid value for 'logprobs': expected an integer from 0 to 20.", param="logprobs")
    max_tokens = inference.integer(body, "max_tokens", 1, 1_000_000)
    return Sampling(max_tokens=default_max if max_tokens is None else max_tokens, stop=inference.stops(body),
                    top_logprobs=raw or 0, logprobs=raw is not None, n=inference.integer(body, "n", 1, MAX_N) or 1)


def logprobs_of(found: Answer) -> dict[str, Any]:
    return {"token_ids": [t.id for t in found.tokens],
            "tokens": [t.text for t in found.tokens], "token_logprobs": [t.logprob for t in found.tokens],
            "top_logprobs": [{a: lp for a, _, lp in t.top} for t in found.tokens]}


def _usage(found: Answer) -> dict[str, int]:
    return {"prompt_tokens": found.prompt_tokens, "completion_tokens": found.completion_tokens,
            "total_tokens": found.total_tokens}


def chat(tx: Tx, req: Request) -> dict[str, Any]:
    body = req.json()
    model, messages = inference.model_of(body), inference.messages_of(body)
    sampling = sampling_of(body, default_max=None)
    found = inference.run(tx, model, Prompt(messages=messages), sampling, legacy=False)
    choice = {"message": {"role": "assistant", "content": found.text, "tool_calls": []},
              "logprobs": logprobs_of(found) if sampling.logprobs else None, "finish_reason": found.finish_reason,
              "seed": body.get("seed") if isinstance(body.get("seed"), int) else None}
    return {"id": secrets.token_hex(8) + "-" + secrets.token_hex(4), "object": "chat.completion",
            "created": int(tx.now), "model": found.model, "prompt": [],
            "choices": [{"index": i, **choice} for i in range(sampling.n)], "usage": _usage(found)}


def completions(tx: Tx, req: Request) -> dict[str, Any]:
    body = req.json()
    model, prompt = inference.model_of(body), inference.prompt_of(body)
    sampling = sampling_of(body, default_max=None)
    found = inference.run(tx, model, Prompt(text=prompt), sampling, legacy=True)
    choice = {"text": found.text, "logprobs": logprobs_of(found) if sampling.logprobs else None,
              "finish_reason": found.finish_reason}
    return {"id": secrets.token_hex(8) + "-" + secrets.token_hex(4), "object": "text.completion",
            "created": int(tx.now), "model": found.model, "prompt": [],
            "choices": [{"index": i, **choice} for i in range(sampling.n)], "usage": _usage(found)}
