"""Together AI's fine-tuning API under ``/v1`` (base URL ``http://HOST:PORT/v1``; the official SDK takes the bare
origin and puts ``/v1`` in its paths): files (the documented upload and the SDK's redirect flow), fine-tunes
(create, list, retrieve, cancel, delete, events, checkpoints, metrics, price estimate, supported models and their
limits), inference (``/v1/chat/completions``, ``/v1/completions``; see ``inference_api``), models (``/v1/models`` and the SDK's ``/v2/projects/{id}/models``). Bearer auth; errors are Together's
``ErrorData`` envelope; jobs carry ISO timestamps and Together's statuses (see ``jobs_api``)."""

from __future__ import annotations

from email.message import Message
from typing import Any

from ftops.emulator.apierror import ApiError
from ftops.emulator.dialects import Dialect, bearer_key, key_matches
from ftops.emulator.dialects.together import files, inference_api, jobs_api, models_api
from ftops.emulator.httpio import MB
from ftops.emulator.router import route
from ftops.emulator.state import Tx


def rules():
    job = "/v1/fine-tunes/<id>"
    return [
        route("POST", "/v1/files/upload", files.upload, files.MAX_FILE_BYTES + MB),
        route("POST", "/v1/files", files.start_upload),
        route("PUT", files.UPLOAD_PATH + "/<id>", files.put_bytes, files.MAX_FILE_BYTES + MB),
        route("POST", "/v1/files/<id>/preprocess", files.preprocess),
        route("GET", "/v1/files", files.list_files),
        route("GET", "/v1/files/<id>", files.retrieve),
        route("DELETE", "/v1/files/<id>", files.delete),
        route("GET", "/v1/files/<id>/content", files.content),
        route("POST", "/v1/fine-tunes", jobs_api.create),
        route("GET", "/v1/fine-tunes", jobs_api.list_jobs),
        route("POST", "/v1/fine-tunes/estimate-price", jobs_api.estimate_price),
        route("GET", "/v1/fine-tunes/models/supported", models_api.supported),
        route("GET", "/v1/fine-tunes/models/limits", models_api.limits),
        route("GET", job, jobs_api.retrieve),
        route("DELETE", job, jobs_api.delete),
        route("POST", job + "/cancel", jobs_api.cancel),
        route("GET", job + "/events", jobs_api.list_events),
        route("GET", job + "/checkpoints", jobs_api.checkpoints),
        route("GET", job + "/metrics", jobs_api.metrics),
        route("GET", "/v1/models", models_api.list_models),
        route("GET", "/v2/projects/<project>/models", models_api.project_models),
        route("POST", "/v1/chat/completions", inference_api.chat),
        route("POST", "/v1/completions", inference_api.completions),
    ]


def authenticate(headers: Message, cfg: Any) -> None:
    key = bearer_key(headers)
    if key is None:
        raise ApiError(401, "Missing API key: send it as 'Authorization: Bearer <key>'.", code="invalid_api_key")
    if not key_matches(key, cfg):
        raise ApiError(401, "Invalid API key provided.", code="invalid_api_key")


def render_error(error: ApiError) -> dict[str, Any]:
    """``ErrorData``: ``message`` and ``type`` always, ``param`` and ``code`` when known (else null)."""
    return {"error": {"message": error.message, "type": error.type, "param": error.param, "code": error.code}}


def state(tx: Tx) -> dict[str, Any]:
    return {
        "files": [files.view(r) for r in sorted(tx.data["files"].values(), key=lambda r: r["seq"])
                  if files.visible(r)],
        "uploads": [files.upload_view(r) for r in tx.data["uploads"].values()],
        "jobs": [jobs_api.view(tx, j) for j in sorted(tx.data["jobs"].values(), key=lambda j: j["seq"])],
        "models": models_api.fine_tune_views(tx),
    }


DIALECT = Dialect(name="together", base_path="/v1", api_prefixes=("/v1/", "/v2/"), rules=rules,
                  authenticate=authenticate, render_error=render_error, state=state, job_view=jobs_api.view)
