"""The OpenAI fine-tuning API (and anything that speaks it: Azure OpenAI v1, the local emulator, gateways).

Statuses are open strings mapped to canonical states; unknown fields are ignored. Uploads are content-addressed:
the uploaded file is named ``<sha256[:16]>-<name>`` so a file the provider already has is found and reused, even
when the lockfile never learned its id.
"""

from __future__ import annotations

import logging
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


def _job(data: dict[str, Any]) -> RemoteJob:
    err = data.get("error")
    error = None
    if isinstance(err, dict) and (err.get("message") or err.get("code")):
        error = JobError(code=err.get("code"), message=str(err.get("message") or err.get("code")),
                         param=err.get("param"))
    method = data.get("method") or {}
    hyper = data.get("hyperparameters") or (method.get(method.get("type") or "", {}) or {}).get("hyperparameters") or {}
    return RemoteJob(
        id=data["id"], state=canonical_state(data.get("status")), raw_status=str(data.get("status")),
        model=str(data.get("model")), fine_tuned_model=data.get("fine_tuned_model"),
        trained_tokens=data.get("trained_tokens"), created_at=data.get("created_at"),
        finished_at=data.get("finished_at"), estimated_finish=data.get("estimated_finish"), error=error,
        metadata=dict(data.get("metadata") or {}), hyperparameters=dict(hyper),
        training_file=data.get("training_file"), validation_file=data.get("validation_file"),
        suffix=data.get("user_provided_suffix") or data.get("suffix"), seed=data.get("seed"))


def upload_name(path: Path, sha256: str) -> str:
    return f"{sha256[:16]}-{path.name}"


class OpenAICompatProvider:
    type = "openai"
    capabilities = Capabilities()

    def __init__(self, name: str, http: HttpClient):
        self.name = name
        self.http = http
        self._files: dict[str, RemoteFile] | None = None

    def close(self) -> None:
        self.http.close()

    # -- files -------------------------------------------------------------------------------------------
    def _known_files(self) -> dict[str, RemoteFile]:
        if self._files is None:
            self._files = {}
            data = self.http.json("GET", "files", params={"purpose": "fine-tune", "limit": 10000})
            for item in data.get("data") or []:
                self._files.setdefault(item.get("filename", ""), RemoteFile(
                    id=item["id"], bytes=int(item.get("bytes") or 0), filename=item.get("filename", "")))
        return self._files

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
                self._files = None  # forget the cached listing: it predates the attempt that may have landed
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
            remote = RemoteFile(id=data["id"], bytes=int(data.get("bytes") or size), filename=name)
            self._known_files()[name] = remote
            return remote
        assert last is not None
        raise last

    def _upload_in_parts(self, path: Path, name: str, size: int) -> dict[str, Any]:
        upload = self.http.json("POST", "uploads", json={"filename": name, "purpose": "fine-tune", "bytes": size,
                                                         "mime_type": "application/jsonl"})
        try:
            part_ids = []
            with open(path, "rb") as fh:
                while chunk := fh.read(PART_SIZE):
                    part = self.http.json("POST", f"uploads/{upload['id']}/parts",
                                          files={"data": ("part", chunk, "application/octet-stream")})
                    part_ids.append(part["id"])
            done = self.http.json("POST", f"uploads/{upload['id']}/complete", json={"part_ids": part_ids},
                                  retry=False)  # creates the file: the caller checks before sending it again
            return done["file"]
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
                return _job(self.http.json("POST", "fine_tuning/jobs", json=body, retry=False))
            except TransientError as exc:
                last = exc
                log.info("creating a job failed ambiguously (%s); checking before trying again", exc)
        assert last is not None
        raise last

    def get_job(self, job_id: str) -> RemoteJob:
        return _job(self.http.json("GET", f"fine_tuning/jobs/{job_id}"))

    def list_jobs(self, *, metadata: dict[str, str] | None = None, limit: int | None = None) -> Iterator[RemoteJob]:
        params: dict[str, Any] = {"limit": min(limit or 100, 100)}
        for key, value in (metadata or {}).items():
            params[f"metadata[{key}]"] = value
        seen = 0
        while True:
            page = self.http.json("GET", "fine_tuning/jobs", params=params)
            items = page.get("data") or []
            for item in items:
                job = _job(item)
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
            return _job(self.http.json("POST", f"fine_tuning/jobs/{job_id}/cancel"))
        except ProviderError:
            job = self.get_job(job_id)  # a retry after a lost answer is refused: the first attempt cancelled it
            if job.state in base.TERMINAL:
                return job
            raise

    def list_events(self, job_id: str, *, limit: int = 20) -> list[RemoteEvent]:
        page = self.http.json("GET", f"fine_tuning/jobs/{job_id}/events", params={"limit": limit})
        return [RemoteEvent(id=e["id"], created_at=int(e.get("created_at") or 0), level=e.get("level", "info"),
                            message=str(e.get("message", "")), type=e.get("type"), data=e.get("data"))
                for e in page.get("data") or []]

    # -- models ------------------------------------------------------------------------------------------
    def get_model(self, model_id: str) -> RemoteModel | None:
        try:
            data = self.http.json("GET", f"models/{model_id}")
        except NotFoundError:
            return None
        return _model(data)

    def list_models(self) -> list[RemoteModel]:
        return [_model(m) for m in self.http.json("GET", "models").get("data") or []]

    def delete_model(self, model_id: str) -> None:
        try:
            self.http.json("DELETE", f"models/{model_id}")
        except NotFoundError:  # already gone (a retry after a lost answer, or deleted elsewhere): the goal holds
            log.info("model %s was already deleted", model_id)


def _model(data: dict[str, Any]) -> RemoteModel:
    return RemoteModel(id=data["id"], owned_by=data.get("owned_by"), created=data.get("created"),
                       shutdown_date=data.get("shutdown_date"))
