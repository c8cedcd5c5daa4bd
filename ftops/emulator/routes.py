"""The route table: (method, path pattern) -> handler, with each route's request-body limit."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from ftops.emulator import admin, files, jobs_api, models, uploads
from ftops.emulator.faults import Faults
from ftops.emulator.httpio import JSON_LIMIT, MB


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern
    handler: Callable
    limit: int = JSON_LIMIT


def _route(method: str, path: str, handler: Callable, limit: int = JSON_LIMIT) -> Route:
    """``{name}`` matches one path segment, ``{name*}`` the rest of the path (model ids contain ':' or '/')."""
    regex = re.sub(r"\{(\w+)(\*?)\}", lambda m: f"(?P<{m.group(1)}>{'.+' if m.group(2) else '[^/]+'})", path)
    return Route(method, re.compile(f"^{regex}$"), handler, limit)


def build(faults: Faults) -> list[Route]:
    job = "/v1/fine_tuning/jobs/{id}"
    return [
        _route("POST", "/v1/files", files.create, files.MAX_FILE_BYTES + MB),
        _route("GET", "/v1/files", files.list_files),
        _route("GET", "/v1/files/{id}", files.retrieve),
        _route("DELETE", "/v1/files/{id}", files.delete),
        _route("GET", "/v1/files/{id}/content", files.content),
        _route("POST", "/v1/uploads", uploads.create),
        _route("POST", "/v1/uploads/{id}/parts", uploads.add_part, uploads.MAX_PART_BYTES + MB),
        _route("POST", "/v1/uploads/{id}/complete", uploads.complete),
        _route("POST", "/v1/uploads/{id}/cancel", uploads.cancel),
        _route("POST", "/v1/fine_tuning/jobs", jobs_api.create),
        _route("GET", "/v1/fine_tuning/jobs", jobs_api.list_jobs),
        _route("GET", job, jobs_api.retrieve),
        _route("POST", job + "/cancel", jobs_api.cancel),
        _route("POST", job + "/pause", jobs_api.pause),
        _route("POST", job + "/resume", jobs_api.resume),
        _route("GET", job + "/events", jobs_api.events),
        _route("GET", job + "/checkpoints", jobs_api.checkpoints),
        _route("GET", "/v1/models", models.list_models),
        _route("GET", "/v1/models/{id*}", models.retrieve),
        _route("DELETE", "/v1/models/{id*}", models.delete),
        _route("GET", "/_emulator/clock", admin.clock),
        _route("POST", "/_emulator/clock", admin.clock),
        _route("GET", "/_emulator/state", admin.state),
        _route("GET", "/_emulator/faults", lambda tx, req: faults.describe()),
        _route("POST", "/_emulator/faults", lambda tx, req: admin.set_faults(faults, req)),
        _route("POST", "/_emulator/jobs/{id}/fail", admin.fail_job),
        _route("POST", "/_emulator/models", admin.set_model),
        _route("POST", "/_emulator/fail-next", admin.fail_next),
    ]
