"""The one small interface every provider implements, and the provider-neutral shapes it returns.

Provider statuses are open strings; each provider maps them to the canonical states below and keeps the raw
string for display. Unknown fields are ignored, unknown statuses map to RUNNING-like ``unknown``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Protocol

QUEUED = "queued"
RUNNING = "running"
PAUSED = "paused"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"
UNKNOWN = "unknown"
TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELLED})
IN_FLIGHT = frozenset({QUEUED, RUNNING, PAUSED, UNKNOWN})


@dataclass(frozen=True)
class RemoteFile:
    id: str
    bytes: int
    filename: str
    purpose: str = "fine-tune"


@dataclass(frozen=True)
class JobError:
    code: str | None
    message: str
    param: str | None = None


@dataclass(frozen=True)
class RemoteJob:
    id: str
    state: str  # canonical: queued | running | paused | succeeded | failed | cancelled | unknown
    raw_status: str
    model: str
    fine_tuned_model: str | None = None
    trained_tokens: int | None = None
    created_at: int | None = None
    finished_at: int | None = None
    estimated_finish: int | None = None
    error: JobError | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    training_file: str | None = None
    validation_file: str | None = None
    suffix: str | None = None
    seed: int | None = None


@dataclass(frozen=True)
class RemoteModel:
    id: str
    owned_by: str | None = None
    created: int | None = None
    shutdown_date: str | None = None  # YYYY-MM-DD


@dataclass(frozen=True)
class RemoteEvent:
    id: str
    created_at: int
    level: str
    message: str
    type: str | None = None
    data: dict[str, Any] | None = None


@dataclass(frozen=True)
class JobRequest:
    """What ftops asks a provider to train. ``method`` is OpenAI-shaped: {type, <type>: {hyperparameters, ...}}."""

    model: str
    training_file: str
    validation_file: str | None
    suffix: str | None
    seed: int | None
    method: dict[str, Any]
    metadata: dict[str, str]
    integrations: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class Capabilities:
    max_suffix_length: int = 64
    suffix_charset: str | None = None  # a regex character class, e.g. "A-Za-z0-9_-"
    methods: tuple[str, ...] = ("supervised", "dpo", "reinforcement")


class Provider(Protocol):
    """A fine-tuning service. Implementations translate their own errors into ``ftops.errors.ProviderError``."""

    name: str  # the provider's key in ftops.yaml
    type: str  # openai | azure-openai | local
    capabilities: Capabilities

    def upload_file(self, path: Path, *, sha256: str) -> RemoteFile: ...
    def file_exists(self, file_id: str) -> bool: ...
    def create_job(self, request: JobRequest) -> RemoteJob: ...
    def get_job(self, job_id: str) -> RemoteJob: ...
    def list_jobs(self, *, metadata: dict[str, str] | None = None, limit: int | None = None) -> Iterator[RemoteJob]: ...
    def cancel_job(self, job_id: str) -> RemoteJob: ...
    def list_events(self, job_id: str, *, limit: int = 20) -> list[RemoteEvent]: ...
    def get_model(self, model_id: str) -> RemoteModel | None: ...
    def list_models(self) -> list[RemoteModel]: ...
    def delete_model(self, model_id: str) -> None: ...
    def close(self) -> None: ...
