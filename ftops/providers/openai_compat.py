"""The OpenAI fine-tuning API (and anything that speaks it: Azure OpenAI v1, the local emulator, gateways).

Statuses are open strings mapped to canonical states; unknown fields are ignored. Uploads are content-addressed:
the uploaded file is named ``<sha256[:16]>-<name>`` so a file the provider already has is found and reused, even
when the lockfile never learned its id.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, Iterator

from ftops.errors import NotFoundError, ProviderError
from ftops.providers import base
from ftops.providers.base import (Capabilities, JobError, JobRequest, RemoteEvent, RemoteFile, RemoteJob,
                                  RemoteModel)
from ftops.providers.http import HttpClient, TransientError

log = logging.getLogger("ftops.provider")

STATUS_MAP = {
    "validating_files": base.QUEUED, "queued": base.QUEUED, "pending": base.QUEUED,
    "running": base.RUNNING, "paused": base.PAUSED, "succeeded": base.SUCCEEDED,
    "failed": base.FAILED, "cancelled": base.CANCELLED,
}
SIMPLE_UPLOAD_LIMIT = 512 * 1024 * 1024
PART_SIZE = 64 * 1024 * 1024
CREATE_ATTEMPTS = 6


def canonical_state(status: str | None) -> str:
    return STATUS_MAP.get((status or "").lower(), base.UNKNOWN)


class MalformedAnswer(ProviderError):
    """The provider (or a proxy in front of it) answered 2xx with a shape ftops cannot read."""

    hint = "check the provider's base_url: something that does not speak the OpenAI API answered"


_JSON_TYPES = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean",
               type(None): "null"}


def _object(value: Any, what: str, provider: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedAnswer(f"unexpected answer: {what} is {_JSON_TYPES.get(type(value), 'not an object')}, "
                              "not a JSON object", provider=provider)
    return value


def _id(data: dict[str, Any], what: str, provider: str) -> str:
    value = data.get("id")
    if not isinstance(value, str) or not value:
        raise MalformedAnswer(f"unexpected answer: {what} has no string 'id'", provider=provider)
    return value


def _items(page: Any, what: str, provider: str) -> list[dict[str, Any]]:
    """The ``data`` of a list answer, every item an object with an id."""
    items = _object(page, f"the {what} list", provider).get("data")
    if items is None:
        return []
    if not isinstance(items, list):
        raise MalformedAnswer(f"unexpected answer: 'data' of the {what} list is not a list", provider=provider)
    for item in items:
        _id(_object(item, f"a {what}", provider), f"a {what}", provider)
    return items


def _num(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _job(data: Any, provider: str) -> RemoteJob:
    """A job from the provider's JSON. Unknown fields are ignored and optional fields of the wrong type read as
    absent; without an id the answer is unusable (MalformedAnswer, never a crash)."""
    data = _object(data, "a fine-tuning job", provider)
    job_id = _id(data, "a fine-tuning job", provider)
    err = _dict(data.get("error"))
    error = None
    if err.get("message") or err.get("code"):
        error = JobError(code=_text(err.get("code")), message=str(err.get("message") or err.get("code")),
                         param=_text(err.get("param")))
    method = _dict(data.get("method"))
    hyper = _dict(data.get("hyperparameters")) or _dict(_dict(method.get(_text(method.get("type")) or "")).get(
        "hyperparameters"))
    status = data.get("status")
    return RemoteJob(
        id=job_id, state=canonical_state(_text(status)), raw_status=str(status),
        model=str(data.get("model")), fine_tuned_model=_text(data.get("fine_tuned_model")) or None,
        trained_tokens=_num(data.get("trained_tokens")), created_at=_num(data.get("created_at")),
        finished_at=_num(data.get("finished_at")), estimated_finish=_num(data.get("estimated_finish")), error=error,
        metadata={str(k): v for k, v in _dict(data.get("metadata")).items() if isinstance(v, str)},
        hyperparameters=dict(hyper), training_file=_text(data.get("training_file")),
        validation_file=_text(data.get("validation_file")),
        suffix=_text(data.get("user_provided_suffix")) or _text(data.get("suffix")), seed=_num(data.get("seed")))


def upload_name(path: Path, sha256: str) -> str:
    return f"{sha256[:16]}-{path.name}"


class OpenAICompatProvider:
    type = "openai"
    capabilities = Capabilities()

    def __init__(self, name: str, http: HttpClient):
        self.name = name
        self.http = http
        self._files: dict[str, RemoteFile] | None = None
        self._files_lock = threading.Lock()

    def close(self) -> None:
        self.http.close()

    # -- files -------------------------------------------------------------------------------------------
    def _known_files(self) -> dict[str, RemoteFile]:
        """The provider's fine-tune files by name, listed once. Apply uploads from several threads: they wait for
        one complete listing (a half-filled one would say "not there" and cause a second upload)."""
        with self._files_lock:
            if self._files is None:
                files: dict[str, RemoteFile] = {}
                params: dict[str, Any] = {"purpose": "fine-tune", "limit": 10000}
                for _ in range(1000):  # pages; bounded against a provider that always says has_more
                    page = self.http.json("GET", "files", params=params)
                    items = _items(page, "file", self.name)
                    for item in items:
                        name = _text(item.get("filename")) or ""
                        files.setdefault(name, RemoteFile(id=item["id"], bytes=_num(item.get("bytes")) or 0,
                                                          filename=name))
                    if not items or page.get("has_more") is not True:
                        break
                    params["after"] = items[-1]["id"]
                self._files = files
            return self._files

    def _forget_files(self) -> None:
        with self._files_lock:
            self._files = None

    def _remember_file(self, remote: RemoteFile) -> None:
        with self._files_lock:
            if self._files is not None:
                self._files[remote.filename] = remote

    def find_file(self, path: Path, sha256: str, size: int) -> RemoteFile | None:
        found = self._known_files().get(upload_name(path, sha256))
        return found if found and found.bytes == size else None

    def file_exists(self, file_id: str) -> bool:
        try:
            self.http.json("GET", f"files/{file_id}")
            return True
        except NotFoundError:
            return False

    def upload_file(self, path: Path, *, sha256: str) -> RemoteFile:
        """Upload a file, never twice: after an ambiguous failure (the upload may have landed and only the answer
        was lost), list the provider's files again and look for this content's name before sending it again."""
        size = path.stat().st_size
        existing = self.find_file(path, sha256, size)
        if existing:
            return existing
        name = upload_name(path, sha256)
        last: ProviderError | None = None
        for attempt in range(CREATE_ATTEMPTS):
            if attempt:
                self._forget_files()  # the cached listing predates the attempt that may have landed
                existing = self.find_file(path, sha256, size)
                if existing:
                    log.info("found %s uploaded by an earlier attempt as %s", name, existing.id)
                    return existing
                self.http.policy.sleep(self.http.policy.delay(attempt - 1, None))
            try:
                if size <= SIMPLE_UPLOAD_LIMIT:
                    with open(path, "rb") as fh:
                        data = self.http.json("POST", "files", data={"purpose": "fine-tune"},
                                              files={"file": (name, fh, "application/jsonl")}, retry=False)
                else:
                    data = self._upload_in_parts(path, name, size)
            except TransientError as exc:
                last = exc
                log.info("uploading %s failed ambiguously (%s); checking before trying again", name, exc)
                continue
            data = _object(data, "the uploaded file", self.name)
            remote = RemoteFile(id=_id(data, "the uploaded file", self.name), bytes=_num(data.get("bytes")) or size,
                                filename=name)
            self._remember_file(remote)
            return remote
        assert last is not None
        raise last

    def _upload_in_parts(self, path: Path, name: str, size: int) -> dict[str, Any]:
        upload = _object(self.http.json("POST", "uploads", json={
            "filename": name, "purpose": "fine-tune", "bytes": size, "mime_type": "application/jsonl"}),
            "the upload", self.name)
        _id(upload, "the upload", self.name)
        try:
            part_ids = []
            with open(path, "rb") as fh:
                while chunk := fh.read(PART_SIZE):
                    part = self.http.json("POST", f"uploads/{upload['id']}/parts",
                                          files={"data": ("part", chunk, "application/octet-stream")})
                    part_ids.append(_id(_object(part, "an upload part", self.name), "an upload part", self.name))
            done = self.http.json("POST", f"uploads/{upload['id']}/complete", json={"part_ids": part_ids},
                                  retry=False)  # creates the file: the caller checks before sending it again
            return _object(_object(done, "the completed upload", self.name).get("file"), "the completed upload's file",
                           self.name)
        except BaseException:
            try:
                self.http.request("POST", f"uploads/{upload['id']}/cancel", retry=False)
            except Exception as exc:  # the upload expires on its own within the hour
                log.info("could not cancel upload %s: %s", upload["id"], exc)
            raise

    # -- jobs --------------------------------------------------------------------------------------------
    def job_body(self, request: JobRequest) -> dict[str, Any]:
        kind = request.method["type"]
        section: dict[str, Any] = {"hyperparameters": request.method.get("hyperparameters") or {}}
        for key in ("grader", "response_format"):
            if key in request.method:
                section[key] = request.method[key]
        body: dict[str, Any] = {"model": request.model, "training_file": request.training_file,
                                "method": {"type": kind, kind: section}, "metadata": request.metadata}
        for key in ("validation_file", "suffix", "seed", "integrations"):
            value = getattr(request, key)
            if value is not None and value != ():
                body[key] = list(value) if key == "integrations" else value
        return body

    def find_job(self, metadata: dict[str, str]) -> RemoteJob | None:
        """The newest job carrying all of ``metadata`` that is not cancelled or failed, if any."""
        for job in self.list_jobs(metadata=metadata, limit=100):
            if job.state not in (base.FAILED, base.CANCELLED):
                return job
        return None

    def create_job(self, request: JobRequest) -> RemoteJob:
        """Create a job, never twice: after an ambiguous failure (the request may or may not have landed), look
        for the job by its metadata (which carries a per-attempt id) before sending it again."""
        body = self.job_body(request)
        last: ProviderError | None = None
        for attempt in range(CREATE_ATTEMPTS):
            if attempt:
                adopted = self.find_job(request.metadata)
                if adopted:
                    log.info("adopted job %s created by an earlier attempt", adopted.id)
                    return adopted
                self.http.policy.sleep(self.http.policy.delay(attempt - 1, None))
            try:
                return _job(self.http.json("POST", "fine_tuning/jobs", json=body, retry=False), self.name)
            except TransientError as exc:
                last = exc
                log.info("creating a job failed ambiguously (%s); checking before trying again", exc)
        assert last is not None
        raise last

    def get_job(self, job_id: str) -> RemoteJob:
        return _job(self.http.json("GET", f"fine_tuning/jobs/{job_id}"), self.name)

    def list_jobs(self, *, metadata: dict[str, str] | None = None, limit: int | None = None) -> Iterator[RemoteJob]:
        params: dict[str, Any] = {"limit": min(limit or 100, 100)}
        for key, value in (metadata or {}).items():
            params[f"metadata[{key}]"] = value
        seen = 0
        while True:
            page = self.http.json("GET", "fine_tuning/jobs", params=params)
            items = _items(page, "fine-tuning job", self.name)
            for item in items:
                job = _job(item, self.name)
                if metadata and any(job.metadata.get(k) != v for k, v in metadata.items()):
                    continue  # a provider that ignores the filter must not confuse us
                yield job
                seen += 1
                if limit and seen >= limit:
                    return
            if not page.get("has_more") or not items:
                return
            params["after"] = items[-1]["id"]

    def cancel_job(self, job_id: str) -> RemoteJob:
        try:
            return _job(self.http.json("POST", f"fine_tuning/jobs/{job_id}/cancel"), self.name)
        except ProviderError:
            job = self.get_job(job_id)  # a retry after a lost answer is refused: the first attempt cancelled it
            if job.state in base.TERMINAL:
                return job
            raise

    def list_events(self, job_id: str, *, limit: int = 20) -> list[RemoteEvent]:
        page = self.http.json("GET", f"fine_tuning/jobs/{job_id}/events", params={"limit": limit})
        return [RemoteEvent(id=e["id"], created_at=_num(e.get("created_at")) or 0,
                            level=_text(e.get("level")) or "info", message=str(e.get("message", "")),
                            type=_text(e.get("type")), data=_dict(e.get("data")) or None)
                for e in _items(page, "job event", self.name)]

    # -- models ------------------------------------------------------------------------------------------
    def get_model(self, model_id: str) -> RemoteModel | None:
        try:
            data = self.http.json("GET", f"models/{model_id}")
        except NotFoundError:
            return None
        return _model(data, self.name)

    def list_models(self) -> list[RemoteModel]:
        return [_model(m, self.name) for m in _items(self.http.json("GET", "models"), "model", self.name)]

    def delete_model(self, model_id: str) -> None:
        try:
            self.http.json("DELETE", f"models/{model_id}")
        except NotFoundError:  # already gone (a retry after a lost answer, or deleted elsewhere): the goal holds
            log.info("model %s was already deleted", model_id)


def _model(data: Any, provider: str) -> RemoteModel:
    data = _object(data, "a model", provider)
    return RemoteModel(id=_id(data, "a model", provider), owned_by=_text(data.get("owned_by")),
                       created=_num(data.get("created")), shutdown_date=_text(data.get("shutdown_date")))
