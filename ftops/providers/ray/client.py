"""The Ray Jobs REST API client (httpx through ftops.providers.http; no ``import ray``).

Traps of the live server (shared/reference/ray-jobs-api.md) handled here: the job paths need their trailing slash
(``/api/jobs/``); errors are plain-text tracebacks (http.py shows the exception line they end with); a duplicate
submission id is a 500 whose text says "already exists", which is adoption, not an error; a local working_dir
would fail the job, so everything goes up as packages first (``PUT /api/packages/gcs/<name>``, a GET first: 200
means it is there); stop and delete are separate, and ftops only stops (the job's record, and so its submission
id, stay taken). A stop on a job still waiting for resources may leave it PENDING: cancel_job then answers
``cancelling``.
"""

from __future__ import annotations

import logging
import shutil
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

from ftops.errors import ConfigError, NotFoundError, ProviderError
from ftops.launch import LaunchKey
from ftops.providers import base
from ftops.providers.answers import MalformedAnswer, obj, text
from ftops.providers.base import MetricRow, RemoteEvent, RemoteFile, RemoteJob, RemoteModel, TrainingRequest
from ftops.providers.http import HttpClient, RetryPolicy
from ftops.providers.inference import Completion, CompletionRequest, complete
from ftops.providers.once import create_once
from ftops.providers.ray import package as packages
from ftops.providers.ray.settings import RaySettings
from ftops.providers.ray.wire import (META_PROJECT, attempt_of, events_of, job_body, package_name, parse_job,
                                      submission_id)

log = logging.getLogger("ftops.provider")
STOP_WAIT = 6.0  # seconds cancel_job waits for a stopped job to reach STOPPED (Ray took about 1.8 s)


def local_path(uri: str) -> Path:
    return Path(uri[len("file://"):])


class RayClient:
    settle_seconds = 1.0  # Ray answers a submit once the job is recorded: a GET right after it finds it

    def __init__(self, name: str, kind: Any, settings: RaySettings, root: Path, headers: dict[str, str], *,
                 secrets: tuple = (), pconf: Any = None, transport: Any = None, policy: RetryPolicy | None = None,
                 side: dict[str, Any] | None = None):
        self.name = name
        self.kind = kind
        self.type = kind.type
        self.capabilities = kind.capabilities
        self.settings = settings
        self.root = root
        self.http = HttpClient.for_provider(name, settings.address, headers, secrets=secrets, pconf=pconf,
                                            transport=transport, policy=policy)
        self._trainer: str | None = None
        self._trainer_lock = threading.Lock()
        self._unchecked_said = False
        self._serve_verdict = (side or {}).get("serve")
        self._serve_args = dict(pconf=pconf, transport=transport, policy=policy)
        self._serve: HttpClient | None = None

    def close(self) -> None:
        self.http.close()
        if self._serve is not None:
            self._serve.close()

    # -- inference (the "complete" verb, with serve: configured) -----------------------------------------
    def complete(self, request: CompletionRequest) -> Completion:
        """The cluster's OpenAI-compatible server (``serve.url``), with its own key where trusted configuration
        binds one; the pinned artifact is called by the name ``serve.model`` makes of it."""
        serve = self.settings.serve
        if serve is None:
            raise ConfigError(f"provider {self.name!r} has no serve: URL, so its models cannot be called",
                              hint="add serve: {url: http://HOST:PORT/v1} (an OpenAI-compatible server such as "
                                   "vLLM serving the trained adapters) to its block in ftops.yaml")
        verdict = self._serve_verdict
        if verdict is not None and verdict.refused:
            raise ConfigError(verdict.refused, hint=verdict.hint)
        if self._serve is None:
            key = verdict.key if verdict is not None else None
            self._serve = HttpClient.for_provider(f"{self.name} (serve)", serve.url,
                                                  {"authorization": f"Bearer {key}"} if key else {},
                                                  secrets=(key,), **self._serve_args)
        return complete(self._serve, self.name, replace(request, model=serve.model_name(request.model)))

    # -- packages ----------------------------------------------------------------------------------------
    def _package_exists(self, name: str) -> bool:
        try:
            self.http.request("GET", f"api/packages/gcs/{name}")
            return True
        except NotFoundError:
            return False

    def file_exists(self, file_id: str) -> bool:
        return self._package_exists(package_name(file_id))

    def _put(self, name: str, content: Any, what: str) -> None:
        try:
            self.http.request("PUT", f"api/packages/gcs/{name}", content=content, retry=False)
        except ProviderError as exc:
            if exc.status == 413:
                raise ProviderError(f"{what} is larger than Ray's job server accepts ({packages.PACKAGE_LIMIT // 2**20}"
                                    " MiB, compressed)", status=413, provider=self.name,
                                    hint="split the dataset, or train from data the cluster reads itself") from None
            raise

    def stage_file(self, path: Path, *, sha256: str, role: str = "training", fmt: str = "chat") -> RemoteFile:
        """The dataset as a content-addressed package (named after its sha256), uploaded only when the cluster
        does not have it; built while it is sent, and refused when the file no longer matches the plan."""
        name = packages.data_package(sha256)
        uri, size = f"gcs://{name}", path.stat().st_size
        if self._package_exists(name):
            return RemoteFile(uri, size, name, reused=True)

        def send() -> RemoteFile:
            self._put(name, packages.stream_data_package(path, sha256), f"the package of {path.name}")
            return RemoteFile(uri, size, name)

        def find() -> RemoteFile | None:
            return RemoteFile(uri, size, name) if self._package_exists(name) else None

        return create_once(send, find, policy=self.http.policy, what=f"uploading {name}",
                           settle=self.settle_seconds)

    def trainer_uri(self) -> str:
        """The trainer package (ftops's launcher, the TRL script or the custom working_dir), uploaded once."""
        with self._trainer_lock:
            if self._trainer is None:
                trainer = self.settings.trainer
                built = packages.build_trainer_package(packages.trainer_files(self.root, trainer.builtin,
                                                                              trainer.working_dir))
                try:
                    if not self._package_exists(built.name):
                        def send() -> str:
                            built.file.seek(0)
                            self._put(built.name, built.file.read(), "the trainer package")
                            return built.name

                        create_once(send, lambda: built.name if self._package_exists(built.name) else None,
                                    policy=self.http.policy, what=f"uploading {built.name}",
                                    settle=self.settle_seconds)
                finally:
                    built.close()
                self._trainer = f"gcs://{built.name}"
            return self._trainer

    # -- jobs --------------------------------------------------------------------------------------------
    def _all_jobs(self) -> Iterator[RemoteJob]:
        """Every submission job of the cluster (Ray's list has no filter and no pages); driver jobs, which have
        no submission id, are not ftops's."""
        answer = self.http.json("GET", "api/jobs/")
        if not isinstance(answer, list):
            raise MalformedAnswer("unexpected answer: the job list is not a JSON array", provider=self.name)
        for item in answer:
            if isinstance(item, dict) and text(item.get("submission_id")):
                yield parse_job(item, self.name)

    def list_jobs(self, project: str, *, limit: int = 100) -> list[RemoteJob]:
        """ftops's jobs for ``project``, newest first."""
        mine = [j for j in self._all_jobs() if j.metadata.get(META_PROJECT) == project]
        mine.sort(key=lambda j: (j.created_at or 0, attempt_of(j.id)), reverse=True)
        return mine[:limit]

    def find_jobs(self, key: LaunchKey) -> list[RemoteJob]:
        """Every attempt for ``key``, newest first."""
        found = [j for j in self._all_jobs() if j.launch_key == key.id]
        return sorted(found, key=lambda j: attempt_of(j.id), reverse=True)

    def create_job(self, request: TrainingRequest) -> RemoteJob:
        """Submit attempt n+1 of the launch key (1 when it has none); a live attempt is returned instead. The
        submission id is fixed before sending, so a retry after a lost answer sends the same id, and Ray's
        "already exists" answer means an earlier send got through: that job is adopted."""
        attempts = self.find_jobs(request.launch)
        live = next((j for j in attempts if j.state in base.IN_FLIGHT), None)
        if live is not None:
            return live
        job_id = submission_id(request.launch, max((attempt_of(j.id) for j in attempts), default=0) + 1)
        body = job_body(request, self.settings, trainer_uri=self.trainer_uri(), job_id=job_id)

        def send() -> RemoteJob:
            try:
                self.http.json("POST", "api/jobs/", json=body, retry=False)
            except ProviderError as exc:
                if exc.status and exc.status >= 500 and "already exists" in str(exc):
                    log.info("%s was submitted before (Ray says it already exists); adopting it", job_id)
                    return self.get_job(job_id)
                raise
            return self.get_job(job_id)

        def find() -> RemoteJob | None:
            try:
                return self.get_job(job_id)
            except NotFoundError:
                return None

        return create_once(send, find, policy=self.http.policy, what=f"submitting {job_id}",
                           settle=self.settle_seconds)

    def get_job(self, job_id: str) -> RemoteJob:
        return parse_job(self.http.json("GET", f"api/jobs/{job_id}"), self.name)

    def cancel_job(self, job_id: str) -> RemoteJob:
        """Stop the job (a terminal one stays as it is). Ray takes a moment to show STOPPED; a job that waits for
        resources may stay PENDING after a stop: it is then reported as cancelling."""
        job = self.get_job(job_id)
        if job.state in base.TERMINAL:
            return job
        self.http.json("POST", f"api/jobs/{job_id}/stop")
        waited = 0.0
        while True:
            job = self.get_job(job_id)
            if job.state in base.TERMINAL:
                return job
            if waited >= STOP_WAIT:
                return replace(job, state=base.CANCELLING, raw_status=f"{job.raw_status} (stop requested)")
            self.http.policy.sleep(0.5)
            waited += 0.5

    def list_events(self, job_id: str, *, limit: int = 20) -> list[RemoteEvent]:
        """The job's log, newest first: ``FTOPS_METRICS`` lines as metrics events, the rest as messages."""
        job = self.get_job(job_id)
        logs = text(obj(self.http.json("GET", f"api/jobs/{job_id}/logs"), "the job's logs", self.name)
                    .get("logs")) or ""
        return list(reversed(events_of(job_id, logs, job.created_at or 0)))[:limit]

    def results(self, job_id: str) -> list[MetricRow]:
        """The trainer's metrics (its ``FTOPS_METRICS`` log lines), one row per step, in ftops's names."""
        rows: dict[int, MetricRow] = {}
        for event in self.list_events(job_id, limit=1_000_000):
            data = event.data or {}
            step = data.get("step")
            if event.type != "metrics" or not isinstance(step, int) or isinstance(step, bool):
                continue
            values = {k: float(v) for k, v in data.items() if k in base.METRICS
                      and isinstance(v, (int, float)) and not isinstance(v, bool) and v == v}
            previous = rows.get(step)
            merged = {**previous.values, **values} if previous else values  # a step's train and eval lines
            rows[step] = MetricRow(step, merged, event.created_at or None)
        return [rows[s] for s in sorted(rows)]

    def job_of_model(self, model_id: str) -> RemoteJob | None:
        """The job whose artifact ``model_id`` is (ftops's jobs only: Ray's other jobs name no artifact)."""
        return next((j for j in self._all_jobs() if j.fine_tuned_model == model_id), None)

    def staged_file(self, path: Path, sha256: str) -> str | None:
        name = packages.data_package(sha256)
        return f"gcs://{name}" if self._package_exists(name) else None

    # -- models (artifacts) ------------------------------------------------------------------------------
    def get_model(self, model_id: str) -> RemoteModel | None:
        """A file:// artifact exists when its directory does (ftops and the cluster share the filesystem: a
        local cluster). Other stores cannot be checked without their credentials: such an artifact is taken as
        present, and said so once. Anything else is not an artifact of this provider."""
        if model_id.startswith("file://"):
            return RemoteModel(model_id, owned_by="ray") if local_path(model_id).is_dir() else None
        if model_id.startswith(("s3://", "gs://", "hf://")):
            if not self._unchecked_said:
                self._unchecked_said = True
                log.warning("%s: ftops cannot check %s artifacts without the store's credentials; taken as present",
                            self.name, model_id.split("://", 1)[0])
            return RemoteModel(model_id, owned_by="ray")
        return None

    def list_models(self) -> list[RemoteModel]:
        """Ray keeps no model list: pinned artifacts are checked one by one (get_model)."""
        return []

    def delete_model(self, model_id: str) -> None:
        """Remove a file:// artifact directory (one ftops wrote: under ``artifacts``); other stores are refused."""
        if not model_id.startswith("file://"):
            raise ProviderError(f"ftops does not delete {model_id}: it has no credentials for that store",
                                provider=self.name, hint="delete it with the store's own tools, then run `ftops "
                                                         "apply` without --prune to forget it")
        path, root = local_path(model_id), local_path(self.settings.artifacts)
        if not self.settings.artifacts.startswith("file://") or root.resolve() not in path.resolve().parents:
            raise ConfigError(f"{model_id} is not under this provider's artifacts ({self.settings.artifacts}); "
                              "ftops deletes only what it wrote there")
        if not path.exists():
            log.info("%s was already deleted", model_id)
            return
        shutil.rmtree(path)
