"""Azure OpenAI: the v1 data plane of a resource under ``/openai/v1`` (base URL ``http://HOST:PORT/openai/v1``:
OpenAI's paths and objects, served by the openai dialect's handlers; the key in an ``api-key`` header, or a bearer
token) and, under the same origin, Azure Resource Manager's deployments of the resource (``deployments.py``).

Where Azure differs from OpenAI: its own model table (``tables/azure.yaml``: the base models Azure fine-tunes and
the day it stops serving their fine-tunes); fine-tuned models are named ``<base>.ft-<32 hex>[-<suffix>]``; a model
a deployment serves cannot be deleted (400, the deployment named); inference (``chat/completions``,
``completions``) takes the name of a deployment as its ``model``, never a model's name, and answers 404
``DeploymentNotFound`` until that deployment has succeeded. Errors carry a string ``code`` always, so one
envelope is both OpenAI's ``ErrorResponse`` and ARM's ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import secrets
from email.message import Message
from typing import Any

from werkzeug.routing import Rule

from ftops.emulator import inference, jobs
from ftops.emulator.apierror import ApiError
from ftops.emulator.dialects import Dialect, bearer_key
from ftops.emulator.dialects import openai as openai_dialect
from ftops.emulator.dialects.azure import deployments
from ftops.emulator.dialects.openai import inference_api, job_request, jobs_api, models_api
from ftops.emulator.inference import Prompt
from ftops.emulator.httpio import Request
from ftops.emulator.router import Route, route
from ftops.emulator.state import Tx

PREFIX = "/openai"  # the data plane is OpenAI's /v1 under it
CODES = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
         409: "Conflict", 413: "RequestEntityTooLarge", 415: "UnsupportedMediaType", 429: "TooManyRequests",
         500: "InternalServerError", 503: "ServiceUnavailable"}


def model_name(base: str, suffix: str | None) -> str:
    return f"{base}.ft-{secrets.token_hex(16)}" + (f"-{suffix}" if suffix else "")


def create_job(tx: Tx, req: Request) -> dict:
    spec = job_request.normalize(tx, req.json())
    job = jobs.create(tx, spec, planned_model=model_name(spec["base"], spec["suffix"]))
    return jobs_api.view(tx, job)


def delete_model(tx: Tx, req: Request) -> dict:
    serving = deployments.deployed_names(tx, req.params["id"])
    if serving:
        raise ApiError(400, f"Cannot delete model {req.params['id']}: it has {len(serving)} deployment(s) "
                            f"({', '.join(serving)}). Delete the deployment(s) first.", param="model",
                       code="ModelHasDeployments")
    return models_api.delete(tx, req)


def deployed_model(tx: Tx, name: str) -> str:
    """The model a succeeded deployment called ``name`` serves (the data plane's ``model`` names a deployment)."""
    for record in deployments.records(tx).values():
        if record["name"].lower() == name.lower() and deployments.state(record, tx.now) == "Succeeded":
            return record["model"]
    raise ApiError(404, "The API deployment for this resource does not exist. If you created the deployment within "
                        "the last 5 minutes, please wait a moment and try again.", param="model",
                   code="DeploymentNotFound")


def chat(tx: Tx, req: Request) -> dict:
    body = req.json()
    model = deployed_model(tx, inference.model_of(body))
    sampling = inference_api.chat_sampling(body)
    found = inference.run(tx, model, Prompt(messages=inference.messages_of(body)), sampling, legacy=False)
    return inference_api.chat_body(tx, found, sampling)


def completions(tx: Tx, req: Request) -> dict:
    body = req.json()
    model, prompt = deployed_model(tx, inference.model_of(body)), inference.prompt_of(body)
    sampling = inference_api.completion_sampling(body)
    found = inference.run(tx, model, Prompt(text=prompt), sampling, legacy=True)
    return inference_api.completion_body(tx, found, sampling, prompt)


OVERRIDES = {("POST", "/v1/fine_tuning/jobs"): create_job, ("DELETE", "/v1/models/<path:id>"): delete_model,
             ("POST", "/v1/chat/completions"): chat, ("POST", "/v1/completions"): completions}


def rules() -> list[Rule]:
    data_plane = []
    for rule in openai_dialect.rules():
        method = sorted(set(rule.methods or ()) - {"HEAD", "OPTIONS"})[0]
        endpoint: Route = rule.endpoint
        handler = OVERRIDES.get((method, rule.rule), endpoint.handler)
        data_plane.append(route(method, PREFIX + rule.rule, handler, endpoint.limit))
    root = deployments.ROOT
    return data_plane + [
        route("GET", root, deployments.list_deployments),
        route("GET", root + "/<name>", deployments.retrieve),
        route("PUT", root + "/<name>", deployments.put),
        route("DELETE", root + "/<name>", deployments.delete),
        route("POST", "/_emulator/deployments/fail-next", deployments.fail_next),
    ]


def authenticate(headers: Message, cfg: Any) -> None:
    """The data plane's api-key (or a bearer token); ARM's routes insist on a bearer token themselves."""
    if bearer_key(headers) is not None and not headers.get("api-key"):
        return  # an Entra token (the data plane takes one too; ARM requires it)
    openai_dialect.authenticate(headers, cfg)


def render_error(error: ApiError) -> dict[str, Any]:
    return {"error": {"message": error.message, "type": error.type, "param": error.param,
                      "code": error.code or CODES.get(error.status, "Error")}}


def state(tx: Tx) -> dict[str, Any]:
    return {**openai_dialect.state(tx),
            "deployments": [deployments.view(tx, r) for _, r in sorted(deployments.records(tx).items())]}


DIALECT = Dialect(name="azure", base_path=PREFIX + "/v1", api_prefixes=(PREFIX + "/", "/subscriptions/"),
                  rules=rules, authenticate=authenticate, render_error=render_error, state=state,
                  job_view=jobs_api.view)
