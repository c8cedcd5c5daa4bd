"""Carry out a plan: stage what changed, start or adopt jobs, follow them with --wait, record the models.

The lockfile is written after every step (LockStore). Every job carries ftops's launch key (project identity,
spec, fingerprint) in whatever way its provider allows; before starting a job, apply asks the provider for a job
with that key and adopts it, so a crashed, repeated or concurrent apply never pays twice. On providers without a
create-once key, launching happens under a lease held on the provider (lease.py). Independent specs run
concurrently; a child spec runs after its parent.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from ftops.errors import FtopsError, ProviderError
from ftops.fingerprint import fingerprint
from ftops.launch import LaunchKey
from ftops.lease import Leases
from ftops.lockfile import LockEntry
from ftops.lockstore import LockStore
from ftops.plan import Action, Plan, PlanOptions, provider_type
from ftops.providers import base as states
from ftops.providers.base import Provider, RemoteJob, TrainingRequest
from ftops.providers.registry import kind as kind_of
from ftops.spec import FineTuneSpec


@dataclass
class ApplyOptions:
    project: str
    wait: bool = False
    poll_interval: float = 2.0
    timeout: float | None = None  # give up waiting after this many seconds (jobs keep running)
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)
    say: Callable[[str], None] = print
    stop: threading.Event = field(default_factory=threading.Event)
    lease_wait: float = 600.0  # how long to wait for another machine's apply to finish launching
    plan_options: PlanOptions | None = None


@dataclass
class Outcome:
    spec: str
    kind: str
    ok: bool
    message: str
    in_flight: str | None = None  # a job still running when apply returned
    deferred: bool = False  # nothing was done: it waits for its parent


class Interrupted(Exception):
    pass


class _Progress:
    """While --wait follows a running job: its newest metrics event ("Step 120/300: training loss=0.42"),
    at most once every ``every`` seconds so a CI log stays readable through hours of training."""

    def __init__(self, opts: "ApplyOptions", every: float = 30.0):
        self.opts, self.every = opts, every
        self._last_id: str | None = None
        self._last_at: dt.datetime | None = None

    def report(self, spec: str, provider: Provider, job: RemoteJob) -> None:
        now = self.opts.now()
        if self._last_at is not None and (now - self._last_at).total_seconds() < self.every:
            return
        try:
            events = provider.list_events(job.id, limit=10)
        except ProviderError:
            return  # progress is a courtesy; the job is followed all the same
        newest = next((e for e in events if e.type == "metrics" or (e.data or {}).get("step")), None)
        if newest is None or newest.id == self._last_id:
            return
        self._last_id, self._last_at = newest.id, now
        eta = ""
        if job.estimated_finish:
            eta = f" (estimated finish {_iso(dt.datetime.fromtimestamp(job.estimated_finish, dt.timezone.utc))})"
        self.opts.say(f"{spec}: {newest.message}{eta}")


def _iso(now: dt.datetime) -> str:
    return now.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class Applier:
    def __init__(self, plan: Plan, specs: dict[str, FineTuneSpec], store: LockStore,
                 providers: Callable[[str], Provider], opts: ApplyOptions):
        self.plan = plan
        self.specs = specs
        self.store = store
        self.providers = providers
        self.opts = opts
        self.outcomes: list[Outcome] = []
        self._out_mutex = threading.Lock()
        self._finished_models: dict[str, str] = {}  # spec -> model recorded during this apply
        self._upload_locks: dict[tuple[str, str], threading.Lock] = {}
        self.leases = Leases(opts.project, wait=opts.lease_wait, sleep=opts.sleep)

    # -- orchestration -----------------------------------------------------------------------------------
    def run(self) -> list[Outcome]:
        chains = self._chains()
        self.store.set_project(self.opts.project)
        try:
            with ThreadPoolExecutor(max_workers=max(1, min(8, len(chains))),
                                    thread_name_prefix="ftops-apply") as pool:
                futures = [pool.submit(self._run_chain, chain) for chain in chains]
                try:
                    while wait(futures, timeout=0.2).not_done:  # short waits keep Ctrl-C responsive
                        pass
                except KeyboardInterrupt:
                    self.opts.stop.set()  # workers finish the step (and lockfile write) they are in, then stop
                    for f in futures:
                        if not f.cancelled():
                            f.result()
                    raise Interrupted() from None
                for f in futures:
                    f.result()
        finally:
            self.leases.release_all(self.providers)
        return self.outcomes

    def _chains(self) -> list[list[Action]]:
        root: dict[str, str] = {}
        for action in self.plan.actions:
            spec = self.specs.get(action.spec)
            parent = spec.parent if spec else None
            root[action.spec] = root.get(parent, parent) if parent in root else action.spec
        chains: dict[str, list[Action]] = {}
        for action in self.plan.actions:
            chains.setdefault(root[action.spec], []).append(action)
        return list(chains.values())

    def _run_chain(self, chain: list[Action]) -> None:
        for action in chain:
            if self.opts.stop.is_set():
                return
            try:
                outcome = self._run(action)
            except FtopsError as exc:
                outcome = Outcome(action.spec, action.kind, False, str(exc))
            with self._out_mutex:
                self.outcomes.append(outcome)
            self.opts.say(f"{action.spec}: {outcome.message}")

    def _run(self, action: Action) -> Outcome:
        kind = action.kind
        if kind == "forget":
            self.store.update(action.spec, lambda e: None)
            return Outcome(action.spec, kind, True, "forgotten (the model stays on the provider)")
        if kind == "delete":
            assert action.model_before is not None
            self.providers(action.provider).delete_model(action.model_before)
            self.store.update(action.spec, lambda e: None)
            return Outcome(action.spec, kind, True, f"deleted {action.model_before}")
        if kind == "move":
            assert action.moved_from is not None
            self.store.rename(action.moved_from, action.spec)
            return Outcome(action.spec, kind, True, f"moved from {action.moved_from} (model {action.model_before} "
                                                    "stays pinned)")
        if kind == "update":
            spec = self.specs[action.spec]
            self.store.update(action.spec, lambda e: e.with_(protect=spec.protect) if e else None)
            return Outcome(action.spec, kind, True, "lockfile updated")
        if kind == "repair":
            self.store.update(action.spec, lambda e: e.with_(model=None, trained_model=None, fingerprint=None,
                                                               job=None, inputs=None) if e else None)
            return Outcome(action.spec, kind, True, "unverifiable pin removed from the lockfile; re-pinning from "
                                                    "the provider's record")
        if action.after:
            return self._run_after_parent(action)
        if kind == "record":
            assert action.job_id is not None
            return self._finish(action, self.providers(action.provider).get_job(action.job_id))
        if kind in ("wait", "adopt"):
            if kind == "adopt":
                self._set_pending(action, job_id=action.job_id, status="adopted", state=states.UNKNOWN)
            return self._follow(action, action.job_id)
        return self._launch(action)

    def _run_after_parent(self, action: Action) -> Outcome:
        parent = self.specs[action.spec].parent
        model = self._finished_models.get(parent or "")
        if model is None:
            return Outcome(action.spec, "wait", True, f"waits for parent {parent!r}; run `ftops apply` again "
                           "(or use --wait) once it has finished", deferred=True)
        inputs = dict(action.inputs or {}, base_model=model)
        return self._launch(replace(action, inputs=inputs, fingerprint=fingerprint(inputs), after=()))

    # -- steps -------------------------------------------------------------------------------------------
    def _upload_lock(self, provider: str, sha256: str) -> threading.Lock:
        with self._out_mutex:
            return self._upload_locks.setdefault((provider, sha256), threading.Lock())

    def _set_pending(self, action: Action, **changes) -> LockEntry:
        def change(entry: LockEntry | None) -> LockEntry:
            entry = entry or LockEntry(name=action.spec, provider=action.provider)
            pending = dict(entry.pending or {}) if (entry.pending or {}).get("fingerprint") == action.fingerprint \
                else {"fingerprint": action.fingerprint, "inputs": action.inputs, "job_id": None,
                      "status": "preparing", "error": None, "started_at": _iso(self.opts.now())}
            pending.update(changes)
            spec = self.specs.get(action.spec)
            return entry.with_(pending=pending, provider=action.provider,
                               protect=spec.protect if spec else entry.protect)
        entry = self.store.update(action.spec, change)
        assert entry is not None
        return entry

    def _pending(self, spec: str) -> dict[str, Any]:
        entry = self.store.get(spec)
        assert entry is not None and entry.pending is not None
        return entry.pending

    def _key(self, action: Action) -> LaunchKey:
        assert action.fingerprint is not None
        return LaunchKey(self.opts.project, action.spec, action.fingerprint)

    def _stage(self, action: Action, provider: Provider, inputs: dict[str, Any]) -> dict[str, str]:
        """Upload (or find) every dataset of the action on its provider; record the ids as they come."""
        spec = self.specs[action.spec]
        file_ids: dict[str, str] = {}
        for role in ("training_file", "validation_file"):
            record = inputs.get(role)
            if not record:
                continue
            if self.opts.stop.is_set():
                raise Interrupted()
            with self._upload_lock(action.provider, record["sha256"]):  # one upload per content and provider
                file_id = (record.get("file_ids") or {}).get(action.provider) or \
                    self.store.file_id(action.provider, record["sha256"])
                if file_id is not None and not provider.file_exists(file_id):
                    self.opts.say(f"{action.spec}: {action.provider} no longer has {file_id}; uploading again")
                    file_id = None
                if file_id is None:
                    ref = spec.training_file if role == "training_file" else spec.validation_file
                    assert ref is not None
                    staged = provider.stage_file(ref.path, sha256=record["sha256"], role=role,
                                                 fmt=spec.method_type)
                    file_id = staged.id
                    verb = "reused" if staged.reused else "uploaded"
                    self.opts.say(f"{action.spec}: {verb} {record['path']} as {file_id}"
                                  + (" (already on the provider)" if staged.reused else ""))
                self._set_pending(action, inputs=dict(inputs, **{role: dict(
                    record, file_ids={**(record.get("file_ids") or {}), action.provider: file_id})}))
            file_ids[role] = file_id
            inputs = self._pending(action.spec)["inputs"]
        return file_ids

    def _request(self, action: Action, inputs: dict[str, Any], file_ids: dict[str, str]) -> TrainingRequest:
        spec = self.specs[action.spec]
        ptype = provider_type(self.opts.plan_options, action.provider) if self.opts.plan_options else None
        method = spec.method
        return TrainingRequest(
            launch=self._key(action), base_model=inputs["base_model"], method=method["type"],
            training_file=file_ids["training_file"], validation_file=file_ids.get("validation_file"),
            hyperparameters=dict(method["hyperparameters"]), training_type=method.get("training_type"),
            seed=spec.seed, suffix=spec.suffix, grader=method.get("grader"),
            response_format=method.get("response_format"), metadata=dict(spec.metadata),
            integrations=tuple(spec.integrations), options=dict(spec.provider_options.get(ptype or "") or {}))

    def _adoptable(self, provider: Provider, key: LaunchKey) -> RemoteJob | None:
        """ftops's job for this launch key that is in flight, or succeeded with its model still there."""
        for job in provider.find_jobs(key):
            if job.state in states.IN_FLIGHT:
                return job
            if job.state == states.SUCCEEDED and job.fine_tuned_model and provider.get_model(job.fine_tuned_model):
                return job
        return None

    def _launch(self, action: Action) -> Outcome:
        provider = self.providers(action.provider)
        old = self.store.get(action.spec)
        old_pending = (old.pending if old else None) or {}
        if old_pending.get("job_id") and old_pending.get("fingerprint") != action.fingerprint \
                and old_pending.get("state", old_pending.get("status")) not in ("succeeded", "failed", "cancelled"):
            try:
                provider.cancel_job(old_pending["job_id"])
                self.opts.say(f"{action.spec}: cancelled superseded job {old_pending['job_id']}")
            except ProviderError as exc:
                self.opts.say(f"{action.spec}: could not cancel superseded job {old_pending['job_id']}: {exc}")
        entry = self._set_pending(action, launch_key=self._key(action).id)
        with self.leases.hold(provider):
            file_ids = self._stage(action, provider, (entry.pending or {})["inputs"])
            inputs = self._pending(action.spec)["inputs"]
            job = self._adoptable(provider, self._key(action))
            if job is not None:
                self.opts.say(f"{action.spec}: adopting job {job.id} (started earlier for these inputs)")
            else:
                job = provider.create_job(self._request(action, inputs, file_ids))
                self.opts.say(f"{action.spec}: started job {job.id} ({inputs['base_model']})")
            self._set_pending(action, job_id=job.id, status=job.raw_status, state=job.state, error=None)
        return self._follow(action, job.id, job)

    def _follow(self, action: Action, job_id: str | None, job: RemoteJob | None = None) -> Outcome:
        provider = self.providers(action.provider)
        assert job_id is not None
        job = job or provider.get_job(job_id)
        if not self.opts.wait or job.state in states.TERMINAL:
            if job.state in states.TERMINAL:
                return self._finish(action, job)
            self._set_pending(action, job_id=job.id, status=job.raw_status, state=job.state)
            return Outcome(action.spec, action.kind, True, f"job {job.id} is {job.raw_status}; "
                           "`ftops apply` records the model once it has finished", in_flight=job.id)
        started = self.opts.now()
        last = None
        progress = _Progress(self.opts)
        while job.state not in states.TERMINAL:
            if self.opts.stop.is_set():
                self._set_pending(action, job_id=job.id, status=job.raw_status, state=job.state)
                return Outcome(action.spec, action.kind, True, f"job {job.id} is {job.raw_status}",
                               in_flight=job.id)
            if job.raw_status != last:
                last = job.raw_status
                self._set_pending(action, job_id=job.id, status=job.raw_status, state=job.state)
                self.opts.say(f"{action.spec}: job {job.id} {job.raw_status}")
            if job.state == states.RUNNING:
                progress.report(action.spec, provider, job)
            if self.opts.timeout is not None and (self.opts.now() - started).total_seconds() > self.opts.timeout:
                return Outcome(action.spec, action.kind, True, f"stopped waiting; job {job.id} is "
                               f"{job.raw_status}", in_flight=job.id)
            self.opts.sleep(self.opts.poll_interval)
            job = provider.get_job(job.id)
        return self._finish(action, job)

    def _finish(self, action: Action, job: RemoteJob) -> Outcome:
        if job.state == states.SUCCEEDED and job.fine_tuned_model:
            provider = self.providers(action.provider)
            model_info = provider.get_model(job.fine_tuned_model)
            base_model = (action.inputs or {}).get("base_model") or job.model
            pconf = self.opts.plan_options.providers.get(action.provider) if self.opts.plan_options else None
            kind = kind_of(pconf.type) if pconf else None
            base = kind.effective(pconf).base_of(base_model) if kind and pconf and base_model else base_model
            base_info = provider.get_model(base) if base else None
            now = _iso(self.opts.now())
            location = {**(kind.model_location(pconf) if kind and pconf else {}), **job.location} or None
            model = job.fine_tuned_model

            def record(entry: LockEntry | None) -> LockEntry:
                entry = entry or LockEntry(name=action.spec, provider=action.provider)
                pending = entry.pending or {}
                same = pending.get("job_id") == job.id
                return entry.with_(
                    model=model, trained_model=None, location=location,
                    fingerprint=pending.get("fingerprint") if same else action.fingerprint,
                    inputs=pending.get("inputs") if same else action.inputs,
                    job=_job_record(job),
                    base_model_shutdown_date=(base_info.shutdown_date if base_info else None),
                    model_shutdown_date=(model_info.shutdown_date if model_info else None),
                    recorded_at=now, pending=None if same or not pending else pending,
                    protect=self.specs[action.spec].protect if action.spec in self.specs else entry.protect)
            self.store.update(action.spec, record)
            self._finished_models[action.spec] = model
            return Outcome(action.spec, action.kind, True, f"pinned {model}")
        error = {"code": job.error.code, "message": job.error.message} if job.error else None
        self._set_pending(action, job_id=job.id, status=job.raw_status, state=job.state, error=error)
        detail = f": {job.error.message}" if job.error else ""
        return Outcome(action.spec, action.kind, False, f"job {job.id} {job.raw_status}{detail}")


def _job_record(job: RemoteJob) -> dict[str, Any]:
    record: dict[str, Any] = {"id": job.id, "status": job.raw_status, "state": job.state,
                              "trained_tokens": job.trained_tokens,
                              "hyperparameters": dict(sorted(job.hyperparameters.items())), "seed": job.seed,
                              "finished_at": _iso(dt.datetime.fromtimestamp(job.finished_at, dt.timezone.utc))
                              if job.finished_at else None}
    if job.launch_key:
        record["launch_key"] = job.launch_key
    return record
