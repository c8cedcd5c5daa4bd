"""The OpenAI fine-tuning API (and anything that speaks it: Azure OpenAI v1, the local emulator, gateways).

Statuses are open strings mapped to canonical states; unknown fields are ignored. Uploads are content-addressed:
the uploaded file is named ``<sha256[:16]>-<name>`` so a file the provider already has is found and reused, even
when the lockfile never learned its id. The bytes sent are hashed while they are sent and checked against the
planned sha256.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Iterator

from ftops.errors import DatasetError, NotFoundError, ProviderError
from ftops.filehash import HashingReader
from ftops.launch import LaunchKey, key_id
from ftops.providers import base
from ftops.providers.answers import MalformedAnswer, ident, items, mapping, num, obj, text
from ftops.providers.base import (JobError, Marker, MetricRow, RemoteCheckpoint, RemoteEvent, RemoteFile,
                                  RemoteJob, RemoteModel, TrainingRequest)
from ftops.providers.filelisting import FileListing, remote_file
from ftops.providers.http import HttpClient, RetryPolicy
from ftops.providers.inference import Completion, CompletionRequest, complete
from ftops.providers.once import create_once
from ftops.providers.openai import META_FINGERPRINT, META_PROJECT, META_SPEC

log = logging.getLogger("ftops.provider")

STATUS_MAP = {
    "validating_files": base.QUEUED, "queued": base.QUEUED, "pending": base.QUEUED,
    "running": base.RUNNING, "pausing": base.PAUSED, "paused": base.PAUSED, "cancelling": base.CANCELLING,
    "succeeded": base.SUCCEEDED, "failed": base.FAILED, "cancelled": base.CANCELLED,
}
SIMPLE_UPLOAD_LIMIT = 512 * 1024 * 1024
PART_SIZE = 64 * 1024 * 1024
MAX_PAGES = 1000  # a list that still says has_more after this many pages is not a list


def canonical_state(status: str | None) -> str:
    return STATUS_MAP.get((status or "").lower(), base.UNKNOWN)


def parse_job(data: Any, provider: str) -> RemoteJob:
    """A job from the provider's JSON. Unknown fields are ignored and optional fields of the wrong type read as
    absent; without an id the answer is unusable (MalformedAnswer, never a crash)."""
    data = obj(data, "a fine-tuning job", provider)
    job_id = ident(data, "a fine-tuning job", provider)
    err = mapping(data.get("error"))
    error = None
    if err.get("message") or err.get("code"):
        error = JobError(code=text(err.get("code")), message=str(err.get("message") or err.get("code")),
                         param=text(err.get("param")))
    method = mapping(data.get("method"))
    hyper = {**mapping(data.get("hyperparameters")),  # the shared settings; a method's own (DPO's beta) under it
             **mapping(mapping(method.get(text(method.get("type")) or "")).get("hyperparameters"))}
    status = data.get("status")
    metadata = {str(k): v for k, v in mapping(data.get("metadata")).items() if isinstance(v, str)}
    project, spec, fingerprint = (metadata.get(k) for k in (META_PROJECT, META_SPEC, META_FINGERPRINT))
    return RemoteJob(
        id=job_id, state=canonical_state(text(status)), raw_status=str(status),
        model=str(data.get("model")), fine_tuned_model=text(data.get("fine_tuned_model")) or None,
        trained_tokens=num(data.get("trained_tokens")), created_at=num(data.get("created_at")),
        finished_at=num(data.get("finished_at")), estimated_finish=num(data.get("estimated_finish")), error=error,
        launch_key=key_id(project, spec, fingerprint) if project and spec and fingerprint else None,
        spec=spec, fingerprint=fingerprint, metadata=metadata, hyperparameters=dict(hyper),
        training_file=text(data.get("training_file")), validation_file=text(data.get("validation_file")),
        suffix=text(data.get("user_provided_suffix")) or text(data.get("suffix")), seed=num(data.get("seed")),
        method=text(method.get("type")) or ("supervised" if data.get("hyperparameters") else None))


def parse_model(data: Any, provider: str) -> RemoteModel:
    data = obj(data, "a model", provider)
    return RemoteModel(id=ident(data, "a model", provider), owned_by=text(data.get("owned_by")),
                       created=num(data.get("created")), shutdown_date=text(data.get("shutdown_date")))


def upload_name(path: Path, sha256: str) -> str:
    return f"{sha256[:16]}-{path.name}"


# Result-file and checkpoint metric columns -> ftops's neutral names (OpenAI's files say train_accuracy; its
# checkpoints and events say train_mean_token_accuracy).
METRIC_NAMES = {"train_loss": "train_loss", "train_accuracy": "train_accuracy",
                "train_mean_token_accuracy": "train_accuracy", "valid_loss": "valid_loss",
                "valid_accuracy": "valid_accuracy", "valid_mean_token_accuracy": "valid_accuracy",
                "full_valid_loss": "full_valid_loss", "full_valid_mean_token_accuracy": "full_valid_accuracy"}


def neutral_metrics(data: Any) -> dict[str, float]:
    """The numbers of a metrics map under ftops's names (what is not a number is left out)."""
    out: dict[str, float] = {}
    for key, value in mapping(data).items():
        name = METRIC_NAMES.get(str(key))
        if name and isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
            out[name] = float(value)
    return out


def parse_result_csv(content: bytes) -> list[MetricRow]:
    """OpenAI's result file (``step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy,...``) as rows.
    The API serves it base64-encoded: both forms are read. Empty cells (no validation at that step) are absent."""
    import base64
    import binascii
    import csv
    import io

    raw = content.strip()
    if raw and not raw.lower().startswith(b"step"):
        try:
            raw = base64.b64decode(raw, validate=False).strip()
        except (binascii.Error, ValueError):
            return []
    rows: list[MetricRow] = []
    for record in csv.DictReader(io.StringIO(raw.decode("utf-8", errors="replace"))):
        try:
            step = int(float(record.get("step") or ""))
        except ValueError:
            continue
        values: dict[str, float] = {}
        for key, cell in record.items():
            name = METRIC_NAMES.get(str(key).strip())
            if name and cell not in (None, ""):
                try:
                    number = float(cell)
                except ValueError:
                    continue
                if number == number:  # not NaN
                    values[name] = number
        rows.append(MetricRow(step=step, values=values))
    return rows


class OpenAIClient:
    settle_seconds = 5.0  # how long after an ambiguous create this API may take to list what it created

    def __init__(self, name: str, kind, base_url: str, headers: dict[str, str], *, secrets: tuple = (),
                 pconf=None, transport=None, policy: RetryPolicy | None = None,
                 simple_upload_limit: int = SIMPLE_UPLOAD_LIMIT, part_size: int = PART_SIZE):
        self.name = name
        self.simple_upload_limit, self.part_size = simple_upload_limit, part_size
        self.kind = kind
        self.type = kind.type
        self.capabilities = kind.capabilities
        self.http = HttpClient.for_provider(name, base_url, headers, secrets=secrets, pconf=pconf,
                                            transport=transport, policy=policy)
        self.files = FileListing(self._list_files)

    def close(self) -> None:
        self.http.close()

    # -- lists -------------------------------------------------------------------------------------------
    def _pages(self, path: str, params: dict[str, Any], what: str) -> Iterator[dict[str, Any]]:
        """Every item of a cursor-paginated list. A cursor that does not advance, or a list without end, is a
        provider error, not a reason to loop for ever."""
        seen_cursors: set[str] = set()
        for _ in range(MAX_PAGES):
            page = self.http.json("GET", path, params=params)
            found = items(page, what, self.name)
            yield from found
            if not found or page.get("has_more") is not True:
                return
            cursor = found[-1]["id"]
            if cursor in seen_cursors:
                raise MalformedAnswer(f"the {what} list keeps answering has_more with the same page (cursor "
                                      f"{cursor}); its pagination is broken", provider=self.name)
            seen_cursors.add(cursor)
            params = {**params, "after": cursor}
        raise MalformedAnswer(f"the {what} list did not end after {MAX_PAGES} pages", provider=self.name)

    # -- files -------------------------------------------------------------------------------------------
    def _list_files(self) -> Iterator[RemoteFile]:
        return (remote_file(item) for item in self._pages("files", {"purpose": "fine-tune", "limit": 10000}, "file"))

    def forget_cached(self) -> None:
        """Drop the cached file listing (the lease calls this: the previous holder may have uploaded since)."""
        self.files.forget()

    def file_exists(self, file_id: str) -> bool:
        try:
            self.http.json("GET", f"files/{file_id}")
            return True
        except NotFoundError:
            return False

    def stage_file(self, path: Path, *, sha256: str, role: str = "training", fmt: str = "chat") -> RemoteFile:
        """Upload a dataset, never twice: reuse a file this content was uploaded as before; after an ambiguous
        failure, list the files again before sending it again."""
        size = path.stat().st_size
        name = upload_name(path, sha256)

        def send() -> RemoteFile:
            data = self._upload(path, name, size, sha256) if size <= self.simple_upload_limit else \
                self._upload_in_parts(path, name, size, sha256)
            data = obj(data, "the uploaded file", self.name)
            ident(data, "the uploaded file", self.name)
            return remote_file(data, filename=name, size=size)

        return self.files.stage(name, size, send, policy=self.http.policy, settle=self.settle_seconds)

    def _changed(self, path: Path, file_id: str | None) -> DatasetError:
        if file_id:
            try:
                self.http.request("DELETE", f"files/{file_id}", retry=False)
            except ProviderError as exc:
                log.info("could not delete %s after a changed upload: %s", file_id, exc)
        return DatasetError(f"{path}: the file changed after the plan was made (its bytes no longer match the "
                            "planned sha256); nothing was trained on it", hint="run `ftops plan` again")

    def _upload(self, path: Path, name: str, size: int, sha256: str) -> Any:
        with HashingReader(path) as reader:
            data = self.http.json("POST", "files", data={"purpose": "fine-tune"},
                                  files={"file": (name, reader, "application/jsonl")}, retry=False)
            if not reader.sent_matches(sha256):
                raise self._changed(path, text(mapping(data).get("id")))
        return data

    def _upload_in_parts(self, path: Path, name: str, size: int, sha256: str) -> dict[str, Any]:
        upload = obj(self.http.json("POST", "uploads", json={
            "filename": name, "purpose": "fine-tune", "bytes": size, "mime_type": "application/jsonl"}),
            "the upload", self.name)
        ident(upload, "the upload", self.name)
        try:
            part_ids = []
            with HashingReader(path) as reader:
                for start in range(0, size, self.part_size):  # each part streamed from the file as it is sent
                    part = self.http.json("POST", f"uploads/{upload['id']}/parts", files={"data": (
                        "part", reader.part(min(self.part_size, size - start)), "application/octet-stream")})
                    part_ids.append(ident(obj(part, "an upload part", self.name), "an upload part", self.name))
                if not reader.sent_matches(sha256):
                    raise self._changed(path, None)
            done = self.http.json("POST", f"uploads/{upload['id']}/complete", json={"part_ids": part_ids},
                                  retry=False)  # creates the file: the caller checks before sending it again
            return obj(obj(done, "the completed upload", self.name).get("file"), "the completed upload's file",
                       self.name)
        except BaseException:
            try:
                self.http.request("POST", f"uploads/{upload['id']}/cancel", retry=False)
            except Exception as exc:  # the upload expires on its own within the hour
                log.info("could not cancel upload %s: %s", upload["id"], exc)
            raise

    # -- markers (cross-machine leases, see ftops/lease.py) ------------------------------------------------
    def put_marker(self, name: str, body: bytes) -> Marker:
        def send() -> Marker:
            data = obj(self.http.json("POST", "files", data={"purpose": "fine-tune"},
                                      files={"file": (name, body, "application/jsonl")}, retry=False),
                       "the uploaded marker", self.name)
            return Marker(ident(data, "the uploaded marker", self.name), name, num(data.get("created_at")) or 0)

        def find() -> Marker | None:
            return next((m for m in self.list_markers(name) if m.name == name), None)

        return create_once(send, find, policy=self.http.policy, what=f"writing {name}", settle=self.settle_seconds)

    def list_markers(self, prefix: str) -> list[Marker]:
        return [Marker(item["id"], text(item.get("filename")) or "", num(item.get("created_at")) or 0)
                for item in self._pages("files", {"purpose": "fine-tune", "limit": 10000}, "file")
                if (text(item.get("filename")) or "").startswith(prefix)]

    def delete_marker(self, marker_id: str) -> None:
        try:
            self.http.json("DELETE", f"files/{marker_id}")
        except NotFoundError:
            pass

    # -- jobs --------------------------------------------------------------------------------------------
    def _jobs(self, metadata: dict[str, str], limit: int | None) -> Iterator[RemoteJob]:
        params: dict[str, Any] = {"limit": min(limit or 100, 100)}
        params.update({f"metadata[{k}]": v for k, v in metadata.items()})
        seen = 0
        for item in self._pages("fine_tuning/jobs", params, "fine-tuning job"):
            job = parse_job(item, self.name)
            if any(job.metadata.get(k) != v for k, v in metadata.items()):
                continue  # a provider that ignores the filter must not confuse us
            yield job
            seen += 1
            if limit and seen >= limit:
                return

    def list_jobs(self, project: str, *, limit: int = 100) -> Iterator[RemoteJob]:
        """ftops's jobs for ``project``, newest first."""
        return self._jobs({META_PROJECT: project}, limit)

    def find_jobs(self, key: LaunchKey) -> list[RemoteJob]:
        """Every job carrying ``key``, newest first."""
        return list(self._jobs({META_PROJECT: key.project, META_SPEC: key.spec,
                                META_FINGERPRINT: key.fingerprint}, 100))

    def create_job(self, request: TrainingRequest) -> RemoteJob:
        """Create a job, never twice: after an ambiguous failure, look for a live job with this launch key
        before sending it again."""
        body = self.kind.wire_request(request)

        def find() -> RemoteJob | None:
            return next((j for j in self.find_jobs(request.launch) if j.state not in (base.FAILED, base.CANCELLED)),
                        None)

        return create_once(lambda: parse_job(self.http.json("POST", "fine_tuning/jobs", json=body, retry=False),
                                             self.name),
                           find, policy=self.http.policy, what=f"creating the job for {request.launch.spec}",
                           settle=self.settle_seconds)

    def get_job(self, job_id: str) -> RemoteJob:
        return parse_job(self.http.json("GET", f"fine_tuning/jobs/{job_id}"), self.name)

    def _job_verb(self, job_id: str, verb: str, done: frozenset[str]) -> RemoteJob:
        try:
            return parse_job(self.http.json("POST", f"fine_tuning/jobs/{job_id}/{verb}"), self.name)
        except ProviderError:
            job = self.get_job(job_id)  # a retry after a lost answer is refused: the first attempt did it
            if job.state in done:
                return job
            raise

    def cancel_job(self, job_id: str) -> RemoteJob:
        return self._job_verb(job_id, "cancel", base.TERMINAL)

    def pause_job(self, job_id: str) -> RemoteJob:
        return self._job_verb(job_id, "pause", frozenset({base.PAUSED}))

    def resume_job(self, job_id: str) -> RemoteJob:
        return self._job_verb(job_id, "resume", frozenset({base.RUNNING, base.QUEUED}))

    def list_events(self, job_id: str, *, limit: int = 20) -> list[RemoteEvent]:
        """The job's newest ``limit`` events, newest first (pages of at most 100)."""
        events: list[RemoteEvent] = []
        for e in self._pages(f"fine_tuning/jobs/{job_id}/events", {"limit": min(limit, 100)}, "job event"):
            events.append(RemoteEvent(id=e["id"], created_at=num(e.get("created_at")) or 0,
                                      level=text(e.get("level")) or "info", message=str(e.get("message", "")),
                                      type=text(e.get("type")), data=mapping(e.get("data")) or None))
            if len(events) >= limit:
                break
        return events

    def list_checkpoints(self, job_id: str) -> list[RemoteCheckpoint]:
        """The checkpoints the job kept (OpenAI keeps the last three epochs), oldest first; each is a model."""
        found = []
        for item in self._pages(f"fine_tuning/jobs/{job_id}/checkpoints", {"limit": 100}, "checkpoint"):
            step = num(item.get("step_number"))
            if step is None:
                continue
            found.append(RemoteCheckpoint(id=item["id"], step=step, created_at=num(item.get("created_at")),
                                          model=text(item.get("fine_tuned_model_checkpoint")) or None,
                                          metrics=neutral_metrics(item.get("metrics"))))
        return sorted(found, key=lambda c: c.step)

    def results(self, job_id: str) -> list[MetricRow]:
        """The job's result file (a finished job), else the metrics its events carry so far."""
        data = obj(self.http.json("GET", f"fine_tuning/jobs/{job_id}"), "a fine-tuning job", self.name)
        files = data.get("result_files")
        if isinstance(files, list) and files and isinstance(files[0], str):
            response = self.http.request("GET", f"files/{files[0]}/content")
            rows = parse_result_csv(response.content)
            if rows:
                return rows
        rows_by_step: dict[int, MetricRow] = {}
        for event in self.list_events(job_id, limit=100_000):
            step = num((event.data or {}).get("step"))
            if event.type == "metrics" and step is not None and step not in rows_by_step:
                rows_by_step[step] = MetricRow(step, neutral_metrics(event.data), event.created_at or None)
        return [rows_by_step[s] for s in sorted(rows_by_step)]

    def job_of_model(self, model_id: str) -> RemoteJob | None:
        """The job (of anyone in the organisation) whose fine_tuned_model is ``model_id``."""
        return next((job for job in self._jobs({}, None) if job.fine_tuned_model == model_id), None)

    def staged_file(self, path: Path, sha256: str) -> str | None:
        return self.files.staged(path, sha256)

    # -- models ------------------------------------------------------------------------------------------
    def get_model(self, model_id: str) -> RemoteModel | None:
        try:
            data = self.http.json("GET", f"models/{model_id}")
        except NotFoundError:
            return None
        return parse_model(data, self.name)

    def list_models(self) -> list[RemoteModel]:
        return [parse_model(m, self.name) for m in items(self.http.json("GET", "models"), "model", self.name)]

    def delete_model(self, model_id: str) -> None:
        try:
            self.http.json("DELETE", f"models/{model_id}")
        except NotFoundError:  # already gone (a retry after a lost answer, or deleted elsewhere): the goal holds
            log.info("model %s was already deleted", model_id)

    # -- inference (the "complete" verb: evals) -----------------------------------------------------------
    def complete(self, request: CompletionRequest) -> Completion:
        """``POST chat/completions`` (or the legacy ``completions``) on the same endpoint, with the same key."""
        return complete(self.http, self.name, request)
