"""Fireworks AI's control plane (SDK 1.2.30's wire format) at the bare origin ``http://HOST:PORT``: datasets,
supervised and DPO fine-tuning jobs, models, deployments and deployed models under ``/v1/accounts/{account}/``,
camelCase JSON, ``:verb`` actions, int64 values as strings and gRPC status errors ``{"code": <int>, "message"}``
with the matching HTTP status. Any account is served (resources are kept under their full names); Bearer auth.

Inference is OpenAI-compatible at ``/inference/v1`` (``inference_api``): base models serverless, fine-tunes once
deployed.

Signed upload URLs (``:getUploadEndpoint``) point back at this server's ``/_signed/{token}``, outside the API
prefix: no key, no faults, as a storage bucket would be.
"""

from __future__ import annotations

from email.message import Message
from functools import partial
from typing import Any

from ftops.emulator.dialects import Dialect, bearer_key, key_matches
from ftops.emulator.dialects.fireworks import datasets_api, inference_api, jobs_api, models_api
from ftops.emulator.dialects.fireworks.jobs_api import DPO, SFT
from ftops.emulator.dialects.fireworks.wire import error, records, render_error
from ftops.emulator.httpio import MB
from ftops.emulator.router import route
from ftops.emulator.state import Tx

ACCOUNT = "/v1/accounts/<acct>"


def _job_rules(collection: str) -> list:
    base = f"{ACCOUNT}/{collection}"
    return [
        route("POST", base, partial(jobs_api.create, collection=collection)),
        route("GET", base, partial(jobs_api.list_jobs, collection=collection)),
        route("GET", base + "/<id>", partial(jobs_api.retrieve, collection=collection)),
        route("DELETE", base + "/<id>", partial(jobs_api.delete, collection=collection)),
        route("POST", base + "/<id>:cancel", partial(jobs_api.cancel, collection=collection)),
        route("POST", base + "/<id>:resume", partial(jobs_api.resume, collection=collection)),
    ]


def rules():
    datasets = f"{ACCOUNT}/datasets"
    return [
        route("POST", datasets, datasets_api.create),
        route("GET", datasets, datasets_api.list_datasets),
        route("GET", datasets + "/<id>", datasets_api.retrieve),
        route("DELETE", datasets + "/<id>", datasets_api.delete),
        route("POST", datasets + "/<id>:upload", datasets_api.upload, datasets_api.UPLOAD_LIMIT + MB),
        route("POST", datasets + "/<id>:getUploadEndpoint", datasets_api.upload_endpoint),
        route("POST", datasets + "/<id>:validateUpload", datasets_api.validate),
        route("PUT", "/_signed/<token>", datasets_api.signed_put, datasets_api.SIGNED_LIMIT),
        *_job_rules(SFT),
        *_job_rules(DPO),
        route("GET", f"{ACCOUNT}/models", models_api.list_models),
        route("GET", f"{ACCOUNT}/models/<id>", models_api.retrieve_model),
        route("DELETE", f"{ACCOUNT}/models/<id>", models_api.delete_model),
        route("POST", f"{ACCOUNT}/deployments", models_api.create_deployment),
        route("GET", f"{ACCOUNT}/deployments", models_api.list_deployments),
        route("GET", f"{ACCOUNT}/deployments/<id>", models_api.retrieve_deployment),
        route("DELETE", f"{ACCOUNT}/deployments/<id>", models_api.delete_deployment),
        route("POST", f"{ACCOUNT}/deployedModels", models_api.load),
        route("GET", f"{ACCOUNT}/deployedModels", models_api.list_deployed),
        route("GET", f"{ACCOUNT}/deployedModels/<id>", models_api.retrieve_deployed),
        route("DELETE", f"{ACCOUNT}/deployedModels/<id>", models_api.unload),
        route("POST", "/inference/v1/chat/completions", inference_api.chat),
        route("POST", "/inference/v1/completions", inference_api.completions),
        route("POST", "/v1/chat/completions", inference_api.chat),  # the SDK's paths with an overridden base URL
        route("POST", "/v1/completions", inference_api.completions),
    ]


def authenticate(headers: Message, cfg: Any) -> None:
    key = bearer_key(headers)
    if key is None:
        raise error("UNAUTHENTICATED", "Missing API key: send Authorization: Bearer <FIREWORKS_API_KEY>.")
    if not key_matches(key, cfg):
        raise error("UNAUTHENTICATED", "Invalid API key.")


def state(tx: Tx) -> dict[str, Any]:
    """Everything as the API shows it, plus what only the emulator knows about a dataset (its content's sha256
    and how many times content was uploaded into it)."""
    mine = records(tx)
    return {
        "datasets": [{**datasets_api.view(r), "sha256": r["sha256"], "uploads": r["uploads"]}
                     for r in sorted(mine["datasets"].values(), key=lambda r: r["seq"])],
        "jobs": [jobs_api.view(tx, j) for j in sorted(tx.data["jobs"].values(), key=lambda j: j["seq"])],
        "models": [models_api.find(tx, m) for m in sorted(tx.data["models"], key=lambda m: tx.data["models"][m]
                                                         ["created"])],
        "deployments": [models_api._deployment_view(tx, r) for r in mine["deployments"].values()],
        "deployedModels": [models_api._deployed_view(tx, r) for r in mine["deployed_models"].values()],
    }


DIALECT = Dialect(name="fireworks", base_path="", api_prefixes=("/v1/", "/inference/v1/"), rules=rules, authenticate=authenticate,
                  render_error=render_error, state=state, job_view=jobs_api.view)
