"""Wire dialects: each provider API the emulator imitates is one package here, registered in ``DIALECTS``.

A dialect owns its paths and handlers (``rules``), how a request proves its key (``authenticate``), how an error
looks on its wire (``render_error``), its model table (``tables/<name>.yaml``) and how its objects look in the
admin state dump. Everything else (state on disk, the clock-driven job lifecycle, dataset validation, faults,
admin) is the neutral core in ``ftops/emulator/``.
"""

from __future__ import annotations

import hmac
import importlib
from dataclasses import dataclass
from email.message import Message
from typing import Any, Callable

from werkzeug.routing import Rule

from ftops.emulator.apierror import ApiError

DIALECTS = {
    "openai": "ftops.emulator.dialects.openai:DIALECT",
    "together": "ftops.emulator.dialects.together:DIALECT",
    "fireworks": "ftops.emulator.dialects.fireworks:DIALECT",
    "azure": "ftops.emulator.dialects.azure:DIALECT",
}


@dataclass(frozen=True)
class Dialect:
    name: str
    base_path: str  # appended to http://HOST:PORT to make the URL clients use ("/v1", or "" for a bare origin)
    api_prefixes: tuple[str, ...]  # paths that are API traffic: authenticated, counted and faulted
    rules: Callable[[], list[Rule]]
    authenticate: Callable[[Message, Any], None]  # (headers, config) -> None, or raise ApiError(401)
    render_error: Callable[[ApiError], dict[str, Any]]  # the JSON body of an error on this wire
    state: Callable[[Any], dict[str, Any]]  # (tx) -> files/jobs/models as this API shows them, for /_emulator/state
    job_view: Callable[[Any, dict], dict[str, Any]]  # (tx, job record) -> the job as this API shows it


def dialect(name: str) -> Dialect:
    where = DIALECTS.get(name)
    if where is None:
        raise ValueError(f"unknown api {name!r}; the emulator speaks {', '.join(DIALECTS)}")
    module, _, attribute = where.partition(":")
    return getattr(importlib.import_module(module), attribute)


def key_matches(key: str, cfg: Any) -> bool:
    """Whether ``key`` is accepted: any key when the emulator requires none in particular (``api_key``), else that
    one, compared in constant time."""
    return cfg.api_key is None or hmac.compare_digest(key.encode(), cfg.api_key.encode())


def bearer_key(headers: Message) -> str | None:
    """The key of ``Authorization: Bearer KEY`` (or None)."""
    scheme, _, key = (headers.get("authorization") or "").partition(" ")
    return key.strip() if scheme.lower() == "bearer" and key.strip() else None
