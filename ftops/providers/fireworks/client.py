"""Fireworks AI's control plane over HTTP: datasets, supervised and DPO jobs, models, deployed models.

Nothing is created twice, because every id is chosen here (see ``ftops.providers.fireworks``): a create is sent
with ``retry=False``; after an ambiguous failure ``create_once`` looks the id up before sending again, and a 409
ALREADY_EXISTS is answered by fetching what that id names (adopt). Lists are paged with ``pageToken``; a token
that does not advance is a MalformedAnswer.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Iterator

from ftops.errors import NotFoundError, ProviderError
from ftops.launch import LaunchKey
from ftops.providers import base
from ftops.providers.answers import MalformedAnswer, items, mapping, text
from ftops.providers.base import Deployment, RemoteEvent, RemoteFile, RemoteJob, RemoteModel, TrainingRequest
from ftops.providers.fireworks import (BASE_ACCOUNT, COLLECTIONS, ID_PARAMS, attempt_id, deployment_name,
                                       job_body, parse_attempt)
from ftops.providers.fireworks.answers import parse_deployment, parse_job, parse_model
from ftops.providers.fireworks.datasets import SIMPLE_UPLOAD_LIMIT, Stager
from ftops.providers.http import HttpClient, RetryPolicy
from ftops.providers.inference import Completion, CompletionRequest, complete
from ftops.providers.once import create_once

log = logging.getLogger("ftops.provider")
MAX_PAGES = 1000
MAX_ATTEMPTS = 1000  # jobs per launch key ftops looks for (one per failed or cancelled try)
PAGE_SIZE = 200  # Fireworks' largest page
_TAKEN = object()  # a create answered 409 for an id spent by an earlier attempt (or by a deleted job)


class FireworksClient:
    settle_seconds = 1.0  # a GET by id sees a resource as soon as it is created

    def __init__(self, name: str, kind, base_url: str, account: str | None, headers: dict[str, str], *,
                 secrets: tuple = (), pconf=None, transport=None, policy: RetryPolicy | None = None,
                 simple_upload_limit: int = SIMPLE_UPLOAD_LIMIT):
        self.name = name
        self.kind = kind
        self.type = kind.type
        self.capabilities = kind.capabilities
        self.account = account or "ftops-local"  # `type: local, api: fireworks`: the emulator's account
        self.http = HttpClient.for_provider(name, base_url, headers, secrets=secrets, pconf=pconf,
                                            transport=transport, policy=policy)
        self.root = f"v1/accounts/{self.account}"
        self.datasets = Stager(self, transport=transport, simple_upload_limit=simple_upload_limit)

    def close(self) -> None:
        self.http.close()
        self.datasets.close()

    # -- plumbing ----------------------------------------------------------------------------------------
    def pages(self, path: str, key: str, what: str, params: dict[str, Any] | None = None,
              limit: int | None = None) -> Iterator[dict[str, Any]]:
        """Every item of an AIP-158 list (``pageSize``/``pageToken`` -> ``{<key>: [...], nextPageToken}``)."""
        params = {"pageSize": min(limit or PAGE_SIZE, PAGE_SIZE), **(params or {})}
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            page = self.http.json("GET", path, params=params)
            yield from items(page, what, self.name, key=key, id_key="name")
            token = text(mapping(page).get("nextPageToken"))
            if not token:
                return
            if token in seen:
                raise MalformedAnswer(f"the {what} list keeps answering the same nextPageToken ({token}); its "
                                      "pagination is broken", provider=self.name)
            seen.add(token)
            params = {**params, "pageToken": token}
        raise MalformedAnswer(f"the {what} list did not end after {MAX_PAGES} pages", provider=self.name)

    def get_or_none(self, path: str) -> Any | None:
        try:
            return self.http.json("GET", path)
        except NotFoundError:
            return None

    def _owned(self, resource: str, what: str) -> str:
        """``resource`` checked to be one of this account's (or a base model): it is a path under /v1."""
        if not resource.startswith("accounts/") or ".." in resource.split("/"):
            raise ProviderError(f"{resource!r} is not a Fireworks {what} name (accounts/ACCOUNT/...)",
                                provider=self.name)
        return f"v1/{resource}"

    # -- datasets ----------------------------------------------------------------------------------------
    def stage_file(self, path: Path, *, sha256: str, role: str = "training", fmt: str = "chat") -> RemoteFile:
        return self.datasets.stage(path, sha256)

    def file_exists(self, file_id: str) -> bool:
        return self.datasets.ready(file_id)

    def staged_file(self, path: Path, sha256: str) -> str | None:
        """The dataset named after this content (``ftops-<sha256[:20]>``), when it is there and READY."""
        from ftops.providers.fireworks import dataset_id

        name = f"accounts/{self.account}/datasets/{dataset_id(sha256)}"
        return name if self.datasets.ready(name) else None

    # -- jobs --------------------------------------------------------------------------------------------
    def _job(self, collection: str, job_id: str) -> RemoteJob | None:
        data = self.get_or_none(f"{self.root}/{collection}/{job_id}")
        return parse_job(data, self.name, self.account) if data is not None else None

    def _attempts(self, key: LaunchKey, collection: str) -> list[RemoteJob]:
        """The jobs of ``key`` in one collection, newest (highest attempt) first: attempt 1, 2, ... until two in a
        row are not there (one gap is a job someone deleted)."""
        found, missed = [], 0
        for attempt in range(1, MAX_ATTEMPTS + 1):
            job = self._job(collection, attempt_id(key, attempt))
            if job is None:
                missed += 1
                if missed == 2:
                    break
                continue
            missed = 0
            found.append(job)
        return found[::-1]

    def find_jobs(self, key: LaunchKey) -> list[RemoteJob]:
        """Every job carrying ``key``, by GETs of the ids it derives (no listing)."""
        for collection in COLLECTIONS.values():
            found = self._attempts(key, collection)
            if found:
                return found
        return []

    def create_job(self, request: TrainingRequest) -> RemoteJob:
        """Create the job, never twice: a job of this launch key in flight is returned; otherwise the next
        attempt's id is created (a lost answer is found by that id; a 409 on it is adopted)."""
        collection = COLLECTIONS.get(request.method)
        if collection is None:
            raise ProviderError(f"Fireworks has no {request.method} jobs", provider=self.name)
        earlier = self._attempts(request.launch, collection)
        live = next((j for j in earlier if j.state in base.IN_FLIGHT), None)
        if live is not None:
            return live
        attempt = max((found[1] for j in earlier if (found := parse_attempt(j.id))), default=0) + 1
        for _ in range(MAX_ATTEMPTS):
            job_id, body = attempt_id(request.launch, attempt), job_body(request, attempt)
            job = create_once(lambda: self._send_job(collection, job_id, body), lambda: self._job(collection, job_id),
                              policy=self.http.policy, what=f"creating job {job_id} for {request.launch.spec}",
                              settle=self.settle_seconds)
            if job is not _TAKEN:
                return job
            log.info("job id %s was used before (a deleted job); taking the next attempt's", job_id)
            attempt += 1
        raise ProviderError(f"no free job id for {request.launch.spec}", provider=self.name)

    def _send_job(self, collection: str, job_id: str, body: dict[str, Any]) -> Any:
        try:
            data = self.http.json("POST", f"{self.root}/{collection}", params={ID_PARAMS[collection]: job_id},
                                  json=body, retry=False)
        except ProviderError as exc:
            if exc.status != 409:
                raise
            existing = self._job(collection, job_id)  # an earlier send of this very request landed: adopt it
            if existing is None or existing.state in (base.FAILED, base.CANCELLED):
                return _TAKEN  # a deleted job's id, or an earlier attempt that did not succeed: the next one
            return existing
        return parse_job(data, self.name, self.account)

    def get_job(self, job_id: str) -> RemoteJob:
        return parse_job(self.http.json("GET", self._owned(job_id, "job")), self.name, self.account)

    def list_jobs(self, project: str, *, limit: int = 100) -> list[RemoteJob]:
        """ftops's jobs (those with the ids it gives), newest first. The ids carry no project, so this is every
        ftops job of the account; the plan only looks up the launch keys it computes."""
        jobs = []
        for collection in COLLECTIONS.values():
            for item in self.pages(f"{self.root}/{collection}", collection, "fine-tuning job",
                                   {"orderBy": "createTime desc"}, limit):
                if parse_attempt(str(item.get("name"))):
                    jobs.append(parse_job(item, self.name, self.account))
                    if len(jobs) >= 2 * limit:
                        break
        jobs.sort(key=lambda j: j.created_at or 0, reverse=True)
        return jobs[:limit]

    def _job_verb(self, job_id: str, verb: str, done: Callable[[RemoteJob], bool]) -> RemoteJob:
        try:
            self.http.json("POST", f"{self._owned(job_id, 'job')}:{verb}", json={})
        except ProviderError:
            job = self.get_job(job_id)  # refused because it is done already (or a retry of a lost answer)
            if done(job):
                return job
            raise
        return self.get_job(job_id)

    def cancel_job(self, job_id: str) -> RemoteJob:
        return self._job_verb(job_id, "cancel", lambda j: j.state in base.TERMINAL or j.state == base.CANCELLING)

    def resume_job(self, job_id: str) -> RemoteJob:
        return self._job_verb(job_id, "resume", lambda j: j.state in (base.QUEUED, base.RUNNING))

    def delete_job(self, job_id: str) -> None:
        try:
            self.http.json("DELETE", self._owned(job_id, "job"))
        except NotFoundError:
            log.info("job %s was already deleted", job_id)

    def list_events(self, job_id: str, *, limit: int = 20) -> list[RemoteEvent]:
        return []  # Fireworks' jobs have no event stream (no "events" verb): progress is the job's state

    # -- models ------------------------------------------------------------------------------------------
    def _model_path(self, model_id: str) -> str:
        return self._owned(model_id if model_id.startswith("accounts/") else
                           f"accounts/{BASE_ACCOUNT}/models/{model_id}", "model")

    def get_model(self, model_id: str) -> RemoteModel | None:
        data = self.get_or_none(self._model_path(model_id))
        return parse_model(data, self.name) if data is not None else None

    def job_of_model(self, model_id: str) -> RemoteJob | None:
        """The job a fine-tuned model names as its ``fineTuningJob`` (any job of the account)."""
        data = self.get_or_none(self._model_path(model_id))
        job = text(mapping(data).get("fineTuningJob")) if data is not None else None
        if not job or not job.startswith(f"accounts/{self.account}/"):
            return None
        found = self.get_or_none(self._owned(job, "job"))
        return parse_job(found, self.name, self.account) if found is not None else None

    def list_models(self) -> list[RemoteModel]:
        """The account's models and Fireworks' base models."""
        accounts = [self.account] + ([BASE_ACCOUNT] if self.account != BASE_ACCOUNT else [])
        return [parse_model(m, self.name) for account in accounts
                for m in self.pages(f"v1/accounts/{account}/models", "models", "model")]

    def delete_model(self, model_id: str) -> None:
        try:
            self.http.json("DELETE", self._model_path(model_id))
        except NotFoundError:  # already gone (a retry after a lost answer, or deleted elsewhere): the goal holds
            log.info("model %s was already deleted", model_id)

    # -- the deploy step ---------------------------------------------------------------------------------
    def _deployed(self, model: str, deployment: str) -> Deployment | None:
        """The deployed-model record loading ``model`` onto ``deployment`` (not one being unloaded), if any."""
        for item in self.pages(f"{self.root}/deployedModels", "deployedModels", "deployed model",
                               {"filter": f'model="{model}"'}):
            if item.get("model") == model and item.get("deployment") == deployment \
                    and item.get("state") != "UNDEPLOYING":
                return parse_deployment(item, self.name, model, deployment)
        return None

    def deploy(self, model: str, target: dict[str, Any]) -> Deployment:
        """Load ``model`` onto the deployment ``target["deployment"]`` (``POST .../deployedModels``), once: an
        existing record is returned as it is (so asking again follows its state), and "already deployed"
        answers (409, or 400 FAILED_PRECONDITION) are resolved by looking it up."""
        if not target.get("deployment"):
            raise ProviderError("Fireworks serves fine-tuned LoRA models only on a deployment; the spec's deploy "
                                "names none", provider=self.name)
        deployment = deployment_name(str(target["deployment"]), self.account)
        found = self._deployed(model, deployment)
        if found is not None:
            return found

        def send() -> Deployment:
            try:
                data = self.http.json("POST", f"{self.root}/deployedModels", json={
                    "model": model, "deployment": deployment}, retry=False)
            except ProviderError as exc:
                if exc.status in (400, 409) and exc.code in ("ALREADY_EXISTS", "FAILED_PRECONDITION"):
                    again = self._deployed(model, deployment)
                    if again is not None:
                        return again
                raise
            return parse_deployment(data, self.name, model, deployment)

        return create_once(send, lambda: self._deployed(model, deployment), policy=self.http.policy,
                           what=f"deploying {model} to {deployment}", settle=self.settle_seconds)

    # -- inference (the "complete" verb: evals) -----------------------------------------------------------
    def complete(self, request: CompletionRequest) -> Completion:
        """Fireworks' OpenAI-compatible inference, ``<base_url>/inference/v1/chat/completions``: the same origin
        and key as the control plane. A fine-tune answers only once deployed (call the pinned ``model#deployment``)."""
        return complete(self.http, self.name, request, prefix="inference/v1/")
