"""Fireworks' OpenAI-compatible inference at ``/inference/v1`` on the bare origin: ``chat/completions`` and
``completions`` with OpenAI's shapes (also at ``/v1/...``, where the ``fireworks-ai`` SDK sends them when its base
URL is overridden; chat takes ``logprobs`` as a boolean, or as an integer 0-5 for the legacy format). A base model (``accounts/fireworks/models/...``) answers serverless; a
fine-tuned LoRA answers only once it is deployed: ``<model>#<deployment>`` (what ftops pins after a deploy) on that
deployment, or the bare ``<model>`` on any deployment it is DEPLOYED on. Errors here are OpenAI-style envelopes
(``{"error": {"object": "error", "type", "code", "message"}}``), as Fireworks' inference answers them."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

from ftops.emulator import inference, modeltable
from ftops.emulator.apierror import ApiError, bad_request
from ftops.emulator.dialects.fireworks.models_api import _deployed_state
from ftops.emulator.dialects.fireworks.wire import records
from ftops.emulator.dialects.openai import inference_api as oai
from ftops.emulator.httpio import Reply, Request
from ftops.emulator.inference import Prompt
from ftops.emulator.state import Tx

NOT_DEPLOYED = "Model not found, inaccessible, and/or not deployed"


def served(tx: Tx, model: str) -> str:
    """The model the core answers as, for the name a request gives."""
    name, _, deployment = model.partition("#")
    if name in tx.data["models"]:
        live = [d for d in records(tx)["deployed_models"].values() if d["model"] == name
                and _deployed_state(tx, d) == "DEPLOYED" and (not deployment or d["deployment"] == deployment)]
        if not live:
            raise inference.UnknownModel(f"{NOT_DEPLOYED}: {model}")
    elif deployment or not modeltable.is_base(tx, name):
        raise inference.UnknownModel(f"{NOT_DEPLOYED}: {model}")
    return name


def _openai_errors(handler: Callable[[Tx, Request], dict[str, Any]]) -> Callable[[Tx, Request], Any]:
    def handle(tx: Tx, req: Request) -> Any:
        try:
            return handler(tx, req)
        except ApiError as error:
            return Reply(error.status, {"error": {"object": "error", "type": error.type, "code": error.code,
                                                  "param": error.param, "message": error.message}})
    return handle


def _chat(tx: Tx, req: Request) -> dict[str, Any]:
    body = req.json()
    legacy = body.get("logprobs")  # an integer N (0-5): the legacy logprobs format, N alternatives per position
    if isinstance(legacy, bool) or not isinstance(legacy, int):
        legacy = None
    else:
        body = {k: v for k, v in body.items() if k != "logprobs"}
        if not 0 <= legacy <= 5:
            raise bad_request("Invalid value for 'logprobs': an integer must be from 0 to 5.", param="logprobs")
    model, messages, sampling = inference.model_of(body), inference.messages_of(body), oai.chat_sampling(body)
    if legacy is not None:
        sampling = replace(sampling, logprobs=True, top_logprobs=legacy)
    found = inference.run(tx, served(tx, model), Prompt(messages=messages), sampling, legacy=False)
    out = {**oai.chat_body(tx, found, sampling), "model": model}
    if legacy is not None:
        for choice in out["choices"]:
            choice["logprobs"] = oai.legacy_logprobs(found, "")
    return out


def _completions(tx: Tx, req: Request) -> dict[str, Any]:
    body = req.json()
    model, prompt, sampling = inference.model_of(body), inference.prompt_of(body), oai.completion_sampling(body)
    found = inference.run(tx, served(tx, model), Prompt(text=prompt), sampling, legacy=True)
    return {**oai.completion_body(tx, found, sampling, prompt), "model": model}


chat = _openai_errors(_chat)
completions = _openai_errors(_completions)
