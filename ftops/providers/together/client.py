"""Together AI's files / fine-tunes / models API as a ftops provider.

Uploads go through the documented ``POST /files/upload`` and are content-addressed as OpenAI's are: the file is
named ``<sha256[:16]>-<name>``, found by listing ``GET /files`` before uploading (also after an ambiguous failure),
and hashed while it is sent. Jobs are found by the launch key their ``suffix`` carries (8 hex characters), and for
safety by training file and model too before a create is repeated. Statuses map to canonical states (``STATUS_MAP``,
every value of the published enum); timestamps are ISO strings. A fine-tuned model is its job's
``model_output_name``; deleting it deletes the job (Together's only way to remove a fine-tune's weights).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any, Iterator

from ftops.errors import DatasetError, NotFoundError, ProviderError
from ftops.filehash import HashingReader
from ftops.launch import LaunchKey
from ftops.providers import base
from ftops.providers.answers import MalformedAnswer, ident, items, mapping, num, obj, text
from ftops.providers.base import (JobError, Marker, MetricRow, RemoteCheckpoint, RemoteEvent, RemoteFile,
                                  RemoteJob, RemoteModel, TrainingRequest)
from ftops.providers.filelisting import FileListing, remote_file
from ftops.providers.http import HttpClient, RetryPolicy
from ftops.providers.inference import Completion, CompletionRequest, complete
from ftops.providers.once import create_once
from ftops.providers.openai.client import upload_name
from ftops.providers.together import key_in_suffix

log = logging.getLogger("ftops.provider")

STATUS_MAP = {
    "pending": base.QUEUED, "queued": base.QUEUED,
    "running": base.RUNNING, "compressing": base.RUNNING, "uploading": base.RUNNING,
    "cancel_requested": base.CANCELLING, "cancelled": base.CANCELLED,
    "error": base.FAILED, "completed": base.SUCCEEDED,
}
HYPERPARAMETERS = ("n_epochs", "batch_size", "learning_rate", "warmup_ratio")
WANDB_FIELDS = ("wandb_project_name", "wandb_name", "wandb_entity", "wandb_base_url")
# The metrics endpoint's keys -> ftops's neutral names.
METRIC_NAMES = {"train/loss": "train_loss", "train/mean_token_accuracy": "train_accuracy",
                "eval/loss": "valid_loss", "eval/mean_token_accuracy": "valid_accuracy",
                "train/learning_rate": "learning_rate", "train/epoch": "epoch"}


def canonical_state(status: str | None) -> str:
    return STATUS_MAP.get((status or "").lower(), base.UNKNOWN)


def timestamp(value: Any) -> float | None:
    """Unix seconds from an ISO 8601 string (jobs, events) or a number (files)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str) or not value:
        return None
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)).timestamp()


def _seconds(value: Any) -> int | None:
    found = timestamp(value)
    return int(found) if found is not None else None


def _events(data: dict[str, Any]) -> list[dict[str, Any]]:
    events = data.get("events")
    return [e for e in events if isinstance(e, dict)] if isinstance(events, list) else []


def _job_error(data: dict[str, Any]) -> JobError | None:
    """Together reports why a job failed in its events (``job_error``), not in a field of the job."""
    err = mapping(data.get("error"))
    if err.get("message"):
        return JobError(code=text(err.get("code")), message=str(err["message"]), param=text(err.get("param")))
    failures = [e for e in _events(data) if e.get("type") == "job_error" or e.get("level") == "error"]
    if failures:
        newest = max(failures, key=lambda e: timestamp(e.get("created_at")) or 0)
        return JobError(code=text(newest.get("type")), message=str(newest.get("message") or "the job failed"))
    return None


def _hyperparameters(data: dict[str, Any]) -> dict[str, Any]:
    """The job's resolved hyperparameters in Together's own names (scalars only)."""
    found = {k: data[k] for k in HYPERPARAMETERS if isinstance(data.get(k), (int, float, str))
             and not isinstance(data.get(k), bool)}
    kind = mapping(data.get("training_type"))
    if isinstance(kind.get("type"), str):
        found["training_type"] = kind["type"]
    for key in ("lora_r", "lora_alpha", "lora_dropout"):
        if isinstance(kind.get(key), (int, float)) and not isinstance(kind.get(key), bool):
            found[key] = kind[key]
    method = mapping(data.get("training_method"))
    if isinstance(method.get("method"), str):
        found["training_method"] = method["method"]
    if isinstance(method.get("dpo_beta"), (int, float)) and not isinstance(method.get("dpo_beta"), bool):
        found["dpo_beta"] = method["dpo_beta"]
    return found


def parse_job(data: Any, provider: str) -> RemoteJob:
    """A job from Together's JSON (create, list, get and cancel answers). Unknown fields are ignored; optional
    fields of the wrong type read as absent; without an id the answer is unusable (MalformedAnswer)."""
    data = obj(data, "a fine-tuning job", provider)
    job_id = ident(data, "a fine-tuning job", provider)
    status = data.get("status")
    state = canonical_state(text(status))
    suffix = text(data.get("suffix"))
    done = state in base.TERMINAL
    return RemoteJob(
        id=job_id, state=state, raw_status=str(status), model=str(data.get("model") or data.get("from_checkpoint")
                                                                     or ""),
        fine_tuned_model=(text(data.get("model_output_name")) or None) if state == base.SUCCEEDED else None,
        trained_tokens=num(data.get("token_count")) if state == base.SUCCEEDED else None,
        created_at=_seconds(data.get("created_at")), finished_at=_seconds(data.get("updated_at")) if done else None,
        error=_job_error(data) if state == base.FAILED else None, launch_key=key_in_suffix(suffix),
        hyperparameters=_hyperparameters(data), training_file=text(data.get("training_file")),
        validation_file=text(data.get("validation_file")) or None, suffix=suffix, seed=num(data.get("random_seed")),
        method={"sft": "supervised", "dpo": "dpo"}.get(text(mapping(data.get("training_method")).get("method")) or ""))


class TogetherClient:
    settle_seconds = 5.0  # how long after an ambiguous create this API may take to list what it created

    def __init__(self, name: str, kind, base_url: str, headers: dict[str, str], *, secrets: tuple = (),
                 pconf=None, transport=None, policy: RetryPolicy | None = None, wandb_key: str | None = None):
        self.name = name
        self.kind = kind
        self.type = kind.type
        self.capabilities = kind.capabilities
        self.wandb_key = wandb_key
        self.http = HttpClient.for_provider(name, base_url, headers, secrets=(*secrets, wandb_key), pconf=pconf,
                                            transport=transport, policy=policy)
        self.files = FileListing(self._fine_tune_files)

    def close(self) -> None:
        self.http.close()

    # -- files -------------------------------------------------------------------------------------------
    def _list_files(self) -> list[dict[str, Any]]:
        return items(self.http.json("GET", "files"), "file", self.name)

    def _fine_tune_files(self) -> Iterator[RemoteFile]:
        for item in sorted(self._list_files(), key=lambda f: num(f.get("created_at")) or 0):
            if item.get("purpose", "fine-tune") == "fine-tune":
                yield remote_file(item)

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
        failure, list the files again before sending it again. Together reads OpenAI's chat and preference rows
        as they are, so nothing is converted."""
        size = path.stat().st_size
        name = upload_name(path, sha256)

        def send() -> RemoteFile:
            with HashingReader(path) as reader:
                data = self._upload(name, reader)
                if not reader.sent_matches(sha256):
                    raise self._changed(path, text(mapping(data).get("id")))
            data = obj(data, "the uploaded file", self.name)
            ident(data, "the uploaded file", self.name)
            return remote_file(data, filename=name, size=size)

        return self.files.stage(name, size, send, policy=self.http.policy, settle=self.settle_seconds)

    def _upload(self, name: str, content: Any) -> Any:
        """``POST /files/upload``: multipart ``purpose``, ``file_name``, ``file_type`` and ``file``."""
        return self.http.json("POST", "files/upload", data={"purpose": "fine-tune", "file_name": name,
                                                             "file_type": "jsonl"},
                              files={"file": (name, content, "application/octet-stream")}, retry=False)

    def _changed(self, path: Path, file_id: str | None) -> DatasetError:
        if file_id:
            try:
                self.http.request("DELETE", f"files/{file_id}", retry=False)
            except ProviderError as exc:
                log.info("could not delete %s after a changed upload: %s", file_id, exc)
        return DatasetError(f"{path}: the file changed after the plan was made (its bytes no longer match the "
                            "planned sha256); nothing was trained on it", hint="run `ftops plan` again")

    # -- markers (cross-machine leases, see ftops/lease.py) ------------------------------------------------
    def put_marker(self, name: str, body: bytes) -> Marker:
        # The marker's own name is appended: no two markers have the same content, whatever a service that
        # deduplicates uploads by content would do with them.
        content = body + json.dumps({"marker": name}).encode() + b"\n"

        def send() -> Marker:
            data = obj(self._upload(name, content), "the uploaded marker", self.name)
            return Marker(ident(data, "the uploaded marker", self.name), name, num(data.get("created_at")) or 0)

        def find() -> Marker | None:
            return next((m for m in self.list_markers(name) if m.name == name), None)

        return create_once(send, find, policy=self.http.policy, what=f"writing {name}", settle=self.settle_seconds)

    def list_markers(self, prefix: str) -> list[Marker]:
        return [Marker(item["id"], text(item.get("filename")) or "", num(item.get("created_at")) or 0)
                for item in self._list_files() if (text(item.get("filename")) or "").startswith(prefix)]

    def delete_marker(self, marker_id: str) -> None:
        try:
            self.http.json("DELETE", f"files/{marker_id}")
        except NotFoundError:
            pass

    # -- jobs --------------------------------------------------------------------------------------------
    def _all_jobs(self) -> list[RemoteJob]:
        """Every job, newest first (the list is not paginated; its order is not documented, so it is sorted)."""
        raw = items(self.http.json("GET", "fine-tunes"), "fine-tuning job", self.name)
        ordered = sorted(enumerate(raw), key=lambda p: (timestamp(p[1].get("created_at")) or 0, -p[0]),
                         reverse=True)
        return [parse_job(item, self.name) for _, item in ordered]

    def list_jobs(self, project: str, *, limit: int = 100) -> list[RemoteJob]:
        """The jobs that carry a launch key, newest first. Together cannot filter by project: the plan looks up
        only the keys it computes (8 hex characters of a hash of project, spec and fingerprint)."""
        return [job for job in self._all_jobs() if job.launch_key][:limit]

    def find_jobs(self, key: LaunchKey) -> list[RemoteJob]:
        """Every job whose suffix carries ``key``, newest first."""
        return [job for job in self._all_jobs() if job.launch_key == key.carried(self.capabilities.key_chars)]

    def _same_request(self, job: RemoteJob, request: TrainingRequest) -> bool:
        """For safety beyond the 8 characters of the key: the job trains this file from this model."""
        if job.training_file and job.training_file != request.training_file:
            return False
        models = {request.base_model.lower(), self.kind.base_of(request.base_model).lower()}
        return not job.model or job.model.lower() in models

    def create_job(self, request: TrainingRequest) -> RemoteJob:
        """Create a job, never twice: after an ambiguous failure, look for a live job with this launch key (and
        this training file and model) before sending it again."""
        body = self.kind.wire_request(request)
        if self.wandb_key and any(field in body for field in WANDB_FIELDS):
            body["wandb_api_key"] = self.wandb_key  # only with a W&B integration, and never in a plan

        def find() -> RemoteJob | None:
            return next((j for j in self.find_jobs(request.launch)
                         if j.state not in (base.FAILED, base.CANCELLED) and self._same_request(j, request)), None)

        return create_once(lambda: parse_job(self.http.json("POST", "fine-tunes", json=body, retry=False),
                                             self.name),
                           find, policy=self.http.policy, what=f"creating the job for {request.launch.spec}",
                           settle=self.settle_seconds)

    def get_job(self, job_id: str) -> RemoteJob:
        return parse_job(self.http.json("GET", f"fine-tunes/{job_id}"), self.name)

    def cancel_job(self, job_id: str) -> RemoteJob:
        try:
            return parse_job(self.http.json("POST", f"fine-tunes/{job_id}/cancel"), self.name)
        except ProviderError:
            job = self.get_job(job_id)  # already finished, or a retry after a lost answer: the first one did it
            if job.state in base.TERMINAL or job.state == base.CANCELLING:
                return job
            raise

    def list_events(self, job_id: str, *, limit: int = 20) -> list[RemoteEvent]:
        """The job's events, newest first. Together's have no id: one is made from the job and the position."""
        found = obj(self.http.json("GET", f"fine-tunes/{job_id}/events"), "the job event list", self.name).get("data")
        if not isinstance(found, list):
            raise MalformedAnswer("unexpected answer: 'data' of the job event list is not a list", provider=self.name)
        events = []
        for position, e in enumerate(found):
            e = obj(e, "a job event", self.name)
            step = num(e.get("step"))
            events.append(RemoteEvent(
                id=f"{job_id}:{position}", created_at=_seconds(e.get("created_at")) or 0,
                level=text(e.get("level")) or "info", message=str(e.get("message", "")), type=text(e.get("type")),
                data={"step": step, "total_steps": num(e.get("total_steps"))} if step else None))
        events.sort(key=lambda e: e.created_at, reverse=True)
        return events[:limit]

    def list_checkpoints(self, job_id: str) -> list[RemoteCheckpoint]:
        """The checkpoints the job saved, oldest first. Together names them ``<model>:<step>`` (for
        ``from_checkpoint`` and downloads); they are not served as models."""
        found = obj(self.http.json("GET", f"fine-tunes/{job_id}/checkpoints"), "the checkpoint list",
                    self.name).get("data")
        out = []
        for item in found if isinstance(found, list) else []:
            step = num(mapping(item).get("step"))
            if step is None:
                continue
            out.append(RemoteCheckpoint(id=text(item.get("path")) or f"{job_id}:{step}", step=step,
                                        created_at=_seconds(item.get("created_at"))))
        return sorted(out, key=lambda c: c.step)

    def results(self, job_id: str) -> list[MetricRow]:
        """``GET /fine-tunes/{id}/metrics``: flat maps, chronological, one per logged step."""
        found = obj(self.http.json("GET", f"fine-tunes/{job_id}/metrics"), "the metrics", self.name).get("metrics")
        rows: dict[int, dict[str, float]] = {}
        for item in found if isinstance(found, list) else []:
            item = mapping(item)
            step = num(item.get("train/global_step"))
            if step is None:
                continue
            values = rows.setdefault(step, {})
            for key, name in METRIC_NAMES.items():
                value = item.get(key)
                if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
                    values[name] = float(value)
        return [MetricRow(step, rows[step]) for step in sorted(rows)]

    def job_of_model(self, model_id: str) -> RemoteJob | None:
        return self._job_of_model(model_id)

    def staged_file(self, path: Path, sha256: str) -> str | None:
        return self.files.staged(path, sha256)

    # -- models ------------------------------------------------------------------------------------------
    def list_models(self) -> list[RemoteModel]:
        """The base models Together fine-tunes (``/fine-tunes/models/supported``) and the models it lists
        (``/models``, a bare array; it shows the account's fine-tunes too)."""
        models: dict[str, RemoteModel] = {}
        try:
            supported = obj(self.http.json("GET", "fine-tunes/models/supported"), "the supported models",
                            self.name).get("models")
        except NotFoundError:
            supported = None
        for name in supported if isinstance(supported, list) else []:
            if isinstance(name, str) and name:
                models[name] = RemoteModel(id=name)
        for m in items(self.http.json("GET", "models"), "model", self.name, bare=True):
            models[m["id"]] = RemoteModel(id=m["id"], owned_by=text(m.get("organization")),
                                          created=num(m.get("created")))
        return list(models.values())

    def _job_of_model(self, model_id: str) -> RemoteJob | None:
        return next((j for j in self._all_jobs() if j.fine_tuned_model == model_id), None)

    def get_model(self, model_id: str) -> RemoteModel | None:
        """A listed model, or the output of a completed job that still exists (the models list need not show
        every fine-tune; its job is where Together keeps it)."""
        found = next((m for m in self.list_models() if m.id == model_id), None)
        if found is not None:
            return found
        job = self._job_of_model(model_id)
        return RemoteModel(id=model_id, created=job.finished_at) if job else None

    def delete_model(self, model_id: str) -> None:
        """Delete the job that produced ``model_id`` (and with it the model); gone already is done."""
        job = self._job_of_model(model_id)
        if job is None:
            log.info("model %s was already deleted", model_id)
            return
        try:
            self.http.json("DELETE", f"fine-tunes/{job.id}")
        except NotFoundError:
            log.info("model %s was already deleted", model_id)

    # -- inference (the "complete" verb: evals) -----------------------------------------------------------
    def complete(self, request: CompletionRequest) -> Completion:
        """Together's OpenAI-compatible ``chat/completions`` (``logprobs`` as a count) on the same endpoint."""
        return complete(self.http, self.name, request, style="together")


__all__ = ["MalformedAnswer", "STATUS_MAP", "TogetherClient", "parse_job"]
