"""OpenAI's fine-tuning API (files, uploads, jobs with pause/resume/events/checkpoints, checkpoint permissions,
model limits, models) and its inference (``/v1/chat/completions``, ``/v1/completions``: ``inference_api``) under
``/v1``, with its error envelope and Bearer auth (Azure OpenAI's ``api-key`` header too)."""

from __future__ import annotations

from email.message import Message
from typing import Any

from ftops.emulator.apierror import ApiError
from ftops.emulator.dialects import Dialect, bearer_key, key_matches
from ftops.emulator.dialects.openai import files, inference_api, jobs_api, models_api, permissions, uploads
from ftops.emulator.httpio import MB
from ftops.emulator.router import route
from ftops.emulator.state import Tx

NO_KEY = ("You didn't provide an API key. You need to provide your API key in an Authorization header using "
          "Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")


def rules():
    job = "/v1/fine_tuning/jobs/<id>"
    return [
        route("POST", "/v1/files", files.create, files.MAX_FILE_BYTES + MB),
        route("GET", "/v1/files", files.list_files),
        route("GET", "/v1/files/<id>", files.retrieve),
        route("DELETE", "/v1/files/<id>", files.delete),
        route("GET", "/v1/files/<id>/content", files.content),
        route("POST", "/v1/uploads", uploads.create),
        route("POST", "/v1/uploads/<id>/parts", uploads.add_part, uploads.MAX_PART_BYTES + MB),
        route("POST", "/v1/uploads/<id>/complete", uploads.complete),
        route("POST", "/v1/uploads/<id>/cancel", uploads.cancel),
        route("POST", "/v1/fine_tuning/jobs", jobs_api.create),
        route("GET", "/v1/fine_tuning/jobs", jobs_api.list_jobs),
        route("GET", job, jobs_api.retrieve),
        route("POST", job + "/cancel", jobs_api.cancel),
        route("POST", job + "/pause", jobs_api.pause),
        route("POST", job + "/resume", jobs_api.resume),
        route("GET", job + "/events", jobs_api.events),
        route("GET", job + "/checkpoints", jobs_api.checkpoints),
        route("GET", "/v1/fine_tuning/model_limits", models_api.model_limits),
        route("GET", "/v1/fine_tuning/checkpoints/<ckpt>/permissions", permissions.list_permissions),
        route("POST", "/v1/fine_tuning/checkpoints/<ckpt>/permissions", permissions.create),
        route("DELETE", "/v1/fine_tuning/checkpoints/<ckpt>/permissions/<id>", permissions.delete),
        route("GET", "/v1/models", models_api.list_models),
        route("GET", "/v1/models/<path:id>", models_api.retrieve),
        route("DELETE", "/v1/models/<path:id>", models_api.delete),
        route("POST", "/v1/chat/completions", inference_api.chat),
        route("POST", "/v1/completions", inference_api.completions),
    ]


def authenticate(headers: Message, cfg: Any) -> None:
    key = bearer_key(headers)
    if key is None and not headers.get("authorization") and headers.get("api-key"):
        key = headers["api-key"].strip() or None  # Azure OpenAI's v1 API sends the key this way
    if key is None:
        raise ApiError(401, NO_KEY, code="invalid_api_key")
    if not key_matches(key, cfg):
        raise ApiError(401, "Incorrect API key provided.", code="invalid_api_key")


def render_error(error: ApiError) -> dict[str, Any]:
    return {"error": {"message": error.message, "type": error.type, "param": error.param, "code": error.code}}


def state(tx: Tx) -> dict[str, Any]:
    return {
        "files": [files.view(r) for r in sorted(tx.data["files"].values(), key=lambda r: r["seq"])],
        "uploads": [uploads.view(tx, r) for r in tx.data["uploads"].values()],
        "jobs": [jobs_api.view(tx, j) for j in sorted(tx.data["jobs"].values(), key=lambda j: j["seq"])],
        "models": [models_api.find(tx, m) for m in sorted(tx.data["models"], key=lambda m: tx.data["models"][m]
                                                         ["created"])],
    }


DIALECT = Dialect(name="openai", base_path="/v1", api_prefixes=("/v1/",), rules=rules, authenticate=authenticate,
                  render_error=render_error, state=state, job_view=jobs_api.view)
