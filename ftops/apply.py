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
from typing import Any, Callable, cast

from ftops.errors import FtopsError, ProviderError
from ftops.fingerprint import fingerprint
from ftops.launch import LaunchKey
from ftops.lease import Leases
from ftops.lockfile import LockEntry, Lockfile
from ftops.lockstore import LockStore
from ftops.plan import Action, Plan, PlanOptions, deploy_outdated, describe_deploy, pin_outdated, provider_type
from ftops.providers import base as states
from ftops.providers.base import Deployment, Deploys, Provider, RemoteJob, TrainingRequest, Undeploys
from ftops.providers.registry import kind as kind_of
from ftops.spec import FineTuneSpec


@dataclass(frozen=True)
class GateVerdict:
    """What an eval gate (``ApplyOptions.gate``) says about a new model before its pin moves."""

    passed: bool
    record: dict[str, Any] | None  # the eval, kept in the lockfile with the model (or with the held-back candidate)
    message: str = ""


# (action, spec, the model applications would call, the lockfile now) -> a verdict, or None when the spec has no eval
Gate = Callable[["Action", FineTuneSpec, str, Lockfile], "GateVerdict | None"]


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
    # Live progress on a terminal (ftops.progress): called with (spec, status, step, total steps) as jobs are
    # followed; None in CI, where the plain lines are all there is.
    progress: Callable[[str, str, int | None, int | None], None] | None = None
    gate: Gate | None = None  # evaluates a new model before its pin moves (ftops.eval.applygate)


@dataclass
class Outcome:
    spec: str
    kind: str
    ok: bool
    message: str
    in_flight: str | None = None  # a job still running when apply returned
    deferred: bool = False  # nothing was done: it waits for its parent
    held: bool = False  # the eval gate held the new model back; the pin stayed


class Interrupted(Exception):
    pass


class _Progress:
    """While --wait follows a running job: its newest metrics event ("Step 120/300: training loss=0.42"),
    at most once every ``every`` seconds so a CI log stays readable through hours of training."""

    DETAILED = 3  # with more jobs in flight than this, one summary line per interval instead of per-job steps

    def __init__(self, opts: "ApplyOptions", every: float = 30.0):
        self.opts, self.every = opts, every
        self._last_id: str | None = None
        self._last_at: dt.datetime | None = None
        self._last_round: dt.datetime | None = None

    def round(self, in_flight: dict) -> None:
        """Many jobs at once: how many are in which status, at most once per interval."""
        if len(in_flight) <= self.DETAILED:
            return
        now = self.opts.now()
        if self._last_round is not None and (now - self._last_round).total_seconds() < self.every:
            return
        self._last_round = now
        counts: dict[str, int] = {}
        for flight in in_flight.values():
            counts[flight.status or "starting"] = counts.get(flight.status or "starting", 0) + 1
        self.opts.say(f"{len(in_flight)} jobs in flight: " + ", ".join(f"{n} {status}" for status, n in
                                                                      sorted(counts.items())))

    def report(self, spec: str, provider: Provider, job: RemoteJob) -> None:
        now = self.opts.now()
        if self.opts.progress is None and self._last_at is not None and \
                (now - self._last_at).total_seconds() < self.every:
            return
        try:
            events = provider.list_events(job.id, limit=10)
        except ProviderError:
            return  # progress is a courtesy; the job is followed all the same
        newest = next((e for e in events if e.type == "metrics" or (e.data or {}).get("step")), None)
        if newest is not None and self.opts.progress is not None:
            data = newest.data or {}
            step, total = data.get("step"), data.get("total_steps")
            self.opts.progress(spec, job.raw_status, step if isinstance(step, int) else None,
                               total if isinstance(total, int) else None)
        if newest is None or newest.id == self._last_id:
            return
        if self._last_at is not None and (now - self._last_at).total_seconds() < self.every:
            return
        self._last_id, self._last_at = newest.id, now
        eta = ""
        if job.estimated_finish:
            eta = f" (estimated finish {_iso(dt.datetime.fromtimestamp(job.estimated_finish, dt.timezone.utc))})"
        self.opts.say(f"{spec}: {newest.message}{eta}")


def _iso(now: dt.datetime) -> str:
    return now.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass
class _Flight:
    """A job this apply follows: the action it carries out and the status last seen."""

    action: Action
    job_id: str
    status: str | None = None


IMMEDIATE = frozenset({"forget", "delete", "move", "update", "repair"})  # lockfile-only or one request


class Applier:
    """Runs a plan in rounds: start every action that can start (concurrently: uploads and creates), then, with
    --wait, one poll round for all jobs in flight (a list call per provider, not a GET per job) every
    ``poll_interval``, recording each job that finished and starting the children it unblocks. The lockfile is
    written once per round: every job also carries its launch key, so a crash between two writes loses nothing
    the provider cannot tell the next apply."""

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
        self._progress = _Progress(opts)
        self._switched: dict[str, list[dict[str, Any]]] = {}  # spec -> deployments to remove once its new one is
        # pinned and written down (the plan's action named them: --prune)

    # -- orchestration -----------------------------------------------------------------------------------
    def run(self) -> list[Outcome]:
        self.store.set_project(self.opts.project)
        waiting: dict[str, list[Action]] = {}  # parent spec -> actions that start once it has its new model
        ready: list[Action] = []
        for action in self.plan.actions:
            if action.kind in IMMEDIATE:
                self._record(action, self._guarded(self._immediate, action))
            elif action.after:
                waiting.setdefault(action.after[0], []).append(action)
            else:
                ready.append(action)
        self.store.flush()
        in_flight: dict[str, _Flight] = {}
        started = self.opts.now()
        try:
            while True:
                if ready:
                    starting, ready = ready, []
                    for action, result in self._start_all(starting):
                        if isinstance(result, Outcome):
                            self._record(action, result)
                            ready += self._release(action, result, waiting)
                        else:
                            in_flight[action.spec] = _Flight(action, result.id)
                            ready += self._settle(in_flight, action.spec, result, waiting)
                    self.store.flush()
                    continue
                if not in_flight or not self.opts.wait:
                    break
                if self.opts.timeout is not None and (self.opts.now() - started).total_seconds() > self.opts.timeout:
                    for flight in in_flight.values():
                        self._record(flight.action, Outcome(flight.action.spec, flight.action.kind, True,
                                                            f"stopped waiting; job {flight.job_id} is "
                                                            f"{flight.status}", in_flight=flight.job_id))
                    in_flight.clear()
                    break
                self._sleep()
                for name, job in self._poll(in_flight).items():
                    ready += self._settle(in_flight, name, job, waiting)
                self._progress.round(in_flight)
                self.store.flush()
        except KeyboardInterrupt:
            self.opts.stop.set()
            raise Interrupted() from None
        finally:
            for flight in in_flight.values():
                if not self.opts.wait or self.opts.stop.is_set():
                    self._record(flight.action, Outcome(
                        flight.action.spec, flight.action.kind, True, f"job {flight.job_id} is {flight.status}; "
                        "`ftops apply` records the model once it has finished", in_flight=flight.job_id))
            for children in waiting.values():
                for child in children:
                    self._record(child, Outcome(child.spec, "wait", True, f"waits for parent {child.after[0]!r}; "
                                                "run `ftops apply` again (or use --wait) once it has finished",
                                                deferred=True))
            self.store.flush(final=True)
            self.leases.release_all(self.providers)
        if self._switched:
            self._remove_superseded()  # only now: the lockfile on disk pins the new deployments
            self.store.flush()
        return self.outcomes

    def _sleep(self) -> None:
        if self.opts.stop.is_set():
            raise KeyboardInterrupt
        self.opts.sleep(self.opts.poll_interval)

    def _guarded(self, step: Callable[[Action], Any], action: Action) -> Any:
        try:
            return step(action)
        except Interrupted:
            return Outcome(action.spec, action.kind, True, "not started (interrupted)", deferred=True)
        except FtopsError as exc:
            return Outcome(action.spec, action.kind, False, str(exc))

    def _record(self, action: Action, outcome: Outcome) -> None:
        with self._out_mutex:
            self.outcomes.append(outcome)
        self.opts.say(f"{action.spec}: {outcome.message}")

    def _start_all(self, actions: list[Action]) -> list[tuple[Action, RemoteJob | Outcome]]:
        """Start (or look up) the job of every action, up to eight at a time; Ctrl-C stays responsive. Each
        result comes with the action as carried out (a child's inputs name its parent's new model)."""
        def one(action: Action) -> tuple[Action, RemoteJob | Outcome]:
            action = self._resolved(action)
            return action, self._guarded(self._start, action)

        if len(actions) == 1:
            return [one(actions[0])]
        with ThreadPoolExecutor(max_workers=min(8, len(actions)), thread_name_prefix="ftops-apply") as pool:
            futures = [pool.submit(one, a) for a in actions]
            try:
                while wait(futures, timeout=0.2).not_done:
                    pass
            except KeyboardInterrupt:
                self.opts.stop.set()  # workers finish the step they are in, then stop
                wait(futures)
                raise
            return [f.result() for f in futures]

    def _resolved(self, action: Action) -> Action:
        """A child whose parent finished in this apply trains from the parent's new model."""
        if not action.after:
            return action
        inputs = dict(action.inputs or {}, base_model=self._finished_models[action.after[0]])
        return replace(action, inputs=inputs, fingerprint=fingerprint(inputs), after=())

    def _start(self, action: Action) -> RemoteJob:
        if self.opts.stop.is_set():
            raise Interrupted()
        provider = self.providers(action.provider)
        if action.kind == "record":
            assert action.job_id is not None
            return provider.get_job(action.job_id)
        if action.kind in ("wait", "adopt"):
            assert action.job_id is not None
            if action.kind == "adopt":
                self._set_pending(action, job_id=action.job_id, status="adopted", state=states.UNKNOWN)
            return provider.get_job(action.job_id)
        return self._launch(action)

    def _settle(self, in_flight: dict[str, _Flight], name: str, job: RemoteJob,
                waiting: dict[str, list[Action]]) -> list[Action]:
        """Take in what a job's status says now; returns the children it lets start."""
        flight = in_flight[name]
        if job.raw_status != flight.status:
            flight.status = job.raw_status
            self._set_pending(flight.action, job_id=job.id, status=job.raw_status, state=job.state,
                              news=job.state in states.TERMINAL or job.state == states.PAUSED)
            if self.opts.wait or job.state in states.TERMINAL:
                self.opts.say(f"{name}: job {job.id} {job.raw_status}")
            if self.opts.progress is not None:
                self.opts.progress(name, job.raw_status, None, None)
        if job.state == states.PAUSED and self.opts.wait:  # a person paused it: waiting would never end
            del in_flight[name]
            self._record(flight.action, Outcome(name, flight.action.kind, True, f"job {job.id} is paused; "
                                                f"`ftops resume {name}` continues it", in_flight=job.id))
            return []
        if job.state not in states.TERMINAL:
            if job.state == states.RUNNING and len(in_flight) <= _Progress.DETAILED:
                self._progress.report(name, self.providers(flight.action.provider), job)
            return []
        del in_flight[name]
        outcome = self._guarded(lambda action: self._finish(action, job), flight.action)
        self._record(flight.action, outcome)
        return self._release(flight.action, outcome, waiting)

    def _release(self, action: Action, outcome: Outcome, waiting: dict[str, list[Action]]) -> list[Action]:
        children = waiting.pop(action.spec, [])
        if outcome.ok and action.spec in self._finished_models:
            return children
        for child in children:
            self._record(child, Outcome(child.spec, "wait", False, f"not started: its parent {action.spec!r} did "
                                        "not produce a new model in this apply", deferred=True))
        return []

    def _poll(self, in_flight: dict[str, _Flight]) -> dict[str, RemoteJob]:
        """The current state of every job in flight: one listing per provider where it lists them, a GET for
        what the listing did not show."""
        found: dict[str, RemoteJob] = {}
        by_provider: dict[str, dict[str, str]] = {}
        for name, flight in in_flight.items():
            by_provider.setdefault(flight.action.provider, {})[flight.job_id] = name
        for provider_name, ids in by_provider.items():
            provider = self.providers(provider_name)
            seen: dict[str, RemoteJob] = {}
            try:
                for job in provider.list_jobs(self.opts.project, limit=max(100, 2 * len(ids))):
                    if job.id in ids:
                        seen[job.id] = job
                        if len(seen) == len(ids):
                            break
            except ProviderError:
                pass  # the GETs below ask for each job instead
            for job_id, name in ids.items():
                known = seen.get(job_id)
                if known is None or known.state in states.TERMINAL:  # a listing may be a summary: details (the
                    # error, the trained tokens) come from the job itself, once, when it has finished
                    try:
                        known = provider.get_job(job_id)
                    except ProviderError as exc:
                        self.opts.say(f"{name}: could not ask about job {job_id} ({exc}); asking again next round")
                        continue
                found[name] = known
        return found

    def _immediate(self, action: Action) -> Outcome:
        kind = action.kind
        cancelled = self._cancel_removed(action) if kind in ("forget", "delete") and action.job_id else ""
        if kind == "forget":
            self.store.update(action.spec, lambda e: None)
            return Outcome(action.spec, kind, True, cancelled + "forgotten" + (
                " (the model stays on the provider)" if action.model_before else ""))
        if kind == "delete" and action.spec in self.specs:  # models the spec's replaces superseded (--prune)
            return self._prune_superseded(action)
        if kind == "delete":
            assert action.model_before is not None
            entry = self.store.get(action.spec)
            trained = (entry.trained_model if entry else None) or action.model_before
            if entry is not None and entry.deploy:  # a deployed model cannot be deleted: its deployments go first
                self._undeploy(action, [entry.deploy, *(entry.deploy.get("superseded") or ())])
                self.store.update(action.spec, lambda e: _must(e).with_(model=trained, trained_model=None,
                                                                          deploy=None))
            provider = self.providers(action.provider)
            doomed = (trained, *action.models)  # and the models it superseded (lifecycle: keep/prune)
            for model in doomed:
                provider.delete_model(model)
            self.store.update(action.spec, lambda e: None)
            return Outcome(action.spec, kind, True, cancelled + "deleted " + ", ".join(doomed))
        if kind == "move":
            assert action.moved_from is not None
            self.store.rename(action.moved_from, action.spec)
            return Outcome(action.spec, kind, True, f"moved from {action.moved_from} (model {action.model_before} "
                                                    "stays pinned)")
        if kind == "update":
            if action.undeploy:
                removed = self._undeploy(action, list(action.undeploy))
                self.store.update(action.spec, lambda e: _must(e).with_(deploy=_without(_must(e).deploy, removed)))
            spec = self.specs[action.spec]
            entry = self.store.get(action.spec)
            if entry is not None and entry.model and deploy_outdated(spec.deploy, entry.deploy):
                return self._redeploy(action, entry)
            if entry is not None and pin_outdated(spec.pin, entry):
                return self._repin(action, entry)
            self.store.update(action.spec, lambda e: e.with_(protect=spec.protect) if e else None)
            return Outcome(action.spec, kind, True, "lockfile updated")
        self.store.update(action.spec, lambda e: e.with_(model=None, trained_model=None, fingerprint=None,
                                                           job=None, inputs=None) if e else None)
        return Outcome(action.spec, kind, True, "unverifiable pin removed from the lockfile; re-pinning from the "
                                                "provider's record")

    def _cancel_removed(self, action: Action) -> str:
        """A removed spec's job still in flight is cancelled (it would run and bill for nothing)."""
        assert action.job_id is not None
        try:
            self.providers(action.provider).cancel_job(action.job_id)
        except ProviderError as exc:
            raise ProviderError(f"could not cancel its job {action.job_id}: {exc}", provider=action.provider) \
                from None
        return f"cancelled its job {action.job_id}; "

    def _prune_superseded(self, action: Action) -> Outcome:
        provider = self.providers(action.provider)
        entry = _must(self.store.get(action.spec))
        old = list((entry.deploy or {}).get("superseded") or ())
        if old:  # a superseded model cannot be deleted while a deployment serves it: those go first
            removed = self._undeploy(action, old)
            self.store.update(action.spec, lambda e: _must(e).with_(deploy=_without(_must(e).deploy, removed)))
        for model in action.models:
            provider.delete_model(model)  # gone already is done
        gone = set(action.models)
        self.store.update(action.spec, lambda e: _must(e).with_(superseded=[
            s for s in _must(e).superseded or () if s["model"] not in gone] or None))
        return Outcome(action.spec, action.kind, True, f"deleted superseded {', '.join(action.models)}")

    def _repin(self, action: Action, entry: LockEntry) -> Outcome:
        """The spec's pin changed: pin that model of the same job (a checkpoint, or the final model)."""
        from ftops import lifecycle

        spec = self.specs[action.spec]
        job_id = (entry.job or {}).get("id")
        assert job_id is not None
        final = (entry.checkpoint or {}).get("final_model") or entry.trained_model or entry.model
        if spec.pin == "final":
            self.store.update(action.spec, lambda e: _must(e).with_(model=final, checkpoint=None))
            return Outcome(action.spec, action.kind, True, f"pinned the final model {final}")
        chosen = lifecycle.pick_checkpoint(self.providers(action.provider), job_id, spec.pin)
        record = lifecycle.checkpoint_record(spec.pin, chosen, final)
        self.store.update(action.spec, lambda e: _must(e).with_(model=chosen.model, checkpoint=record))
        return Outcome(action.spec, action.kind, True, f"pinned {chosen.model} (checkpoint at step {chosen.step})")

    # -- steps -------------------------------------------------------------------------------------------
    def _upload_lock(self, provider: str, sha256: str) -> threading.Lock:
        with self._out_mutex:
            return self._upload_locks.setdefault((provider, sha256), threading.Lock())

    def _set_pending(self, action: Action, *, news: bool = True, **changes) -> LockEntry:
        def change(entry: LockEntry | None) -> LockEntry:
            entry = entry or LockEntry(name=action.spec, provider=action.provider)
            pending = dict(entry.pending or {}) if (entry.pending or {}).get("fingerprint") == action.fingerprint \
                else {"fingerprint": action.fingerprint, "inputs": action.inputs, "job_id": None,
                      "status": "preparing", "error": None, "started_at": _iso(self.opts.now())}
            pending.update(changes)
            spec = self.specs.get(action.spec)
            return entry.with_(pending=pending, provider=action.provider,
                               protect=spec.protect if spec else entry.protect)
        entry = self.store.update(action.spec, change, news=news)
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
                else:
                    self.opts.say(f"{action.spec}: reused {record['path']} as {file_id} (already on the provider)")
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

    def _launch(self, action: Action) -> RemoteJob:
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
        return job

    # -- the deploy step ---------------------------------------------------------------------------------
    def _undeploy(self, action: Action, records: list[dict[str, Any]]) -> list[str]:
        """Remove deployments ftops made (where the provider can); the names of those removed."""
        provider = self.providers(action.provider)
        if "undeploy" not in provider.capabilities.verbs:
            return []
        removed = []
        for record in records:
            if record.get("model"):
                cast(Undeploys, provider).undeploy(record)
                self.opts.say(f"{action.spec}: removed deployment {record['model']}")
                removed.append(str(record["model"]))
        return removed

    def _remove_superseded(self) -> None:
        """After an apply with --prune moved pins to new deployments: remove the deployments they replaced."""
        for name, old in sorted(self._switched.items()):
            entry = self.store.get(name)
            if entry is None:
                continue
            action = Action(spec=name, kind="update", provider=entry.provider, reasons=())
            try:
                removed = self._undeploy(action, old)
            except FtopsError as exc:
                self._record(action, Outcome(name, "update", False, f"could not remove the superseded deployment(s): "
                                                                    f"{exc}; `ftops apply --prune` tries again"))
                continue
            self.store.update(name, lambda e: _must(e).with_(deploy=_without(_must(e).deploy, removed)))

    def _superseding(self, action: Action, provider: Provider, record: dict[str, Any]) -> dict[str, Any]:
        """The new deploy record, remembering the pinned deployment it replaces (where the provider can remove it
        later: ``--prune``); the old one keeps serving until then."""
        if "undeploy" not in provider.capabilities.verbs:
            return record
        entry = self.store.get(action.spec)
        before = (entry.deploy if entry else None) or {}
        superseded = [d for d in before.get("superseded") or () if d.get("model") != record.get("model")]
        if before.get("model") and before.get("model") != record.get("model"):
            superseded.append({k: before[k] for k in ("target", "id", "model", "state", "status") if k in before})
            if action.kind != "update" and action.undeploy:  # --prune: the plan said the old one goes after this
                self._switched[action.spec] = [d for d in superseded
                                               if d.get("model") in {u.get("model") for u in action.undeploy}]
        return {**record, "superseded": superseded} if superseded else record

    def _deploy(self, provider: Provider, model: str, target: dict[str, Any]) -> Deployment:
        """Make ``model`` callable as ``target`` says; with --wait, follow the deploy until it is done. The
        provider's deploy is idempotent (an existing deploy is returned), so asking again is how it is followed."""
        deployer = cast(Deploys, provider)  # the plan and the spec checks let only such providers get here
        deployment = deployer.deploy(model, target)
        started = self.opts.now()
        while self.opts.wait and deployment.state in (states.DEPLOYING, states.UNKNOWN):
            if self.opts.stop.is_set() or (self.opts.timeout is not None and
                                           (self.opts.now() - started).total_seconds() > self.opts.timeout):
                break
            self.opts.sleep(self.opts.poll_interval)
            deployment = deployer.deploy(model, target)
        return deployment

    def _redeploy(self, action: Action, entry: LockEntry) -> Outcome:
        """The pinned model's deploy step differs from the spec's: deploy it there (no training). The pin moves
        to the new name only once that answers."""
        spec = self.specs[action.spec]
        trained = entry.trained_model or entry.model
        assert trained is not None
        if spec.deploy is None:
            self.store.update(action.spec, lambda e: _must(e).with_(model=trained, trained_model=None, deploy=None,
                                                                      protect=spec.protect))
            return Outcome(action.spec, action.kind, True, f"pinned {trained} (no deploy step)")
        provider = self.providers(action.provider)
        deployment = self._deploy(provider, trained, spec.deploy)
        record = _deploy_record(spec.deploy, deployment)
        if deployment.state == states.DEPLOYED:
            record = self._superseding(action, provider, record)
            self.store.update(action.spec, lambda e: _must(e).with_(model=deployment.model, trained_model=trained,
                                                                      deploy=record, protect=spec.protect))
            return Outcome(action.spec, action.kind, True, f"deployed {trained} to "
                           f"{describe_deploy(spec.deploy)}; pinned {deployment.model}")
        keep = (entry.deploy or {}).get("superseded")  # the pinned deployment's record stays until one serves
        self.store.update(action.spec, lambda e: _must(e).with_(
            deploy={**record, "superseded": keep} if keep else record, protect=spec.protect))
        return self._not_callable(action, deployment, spec.deploy, trained)

    def _not_callable(self, action: Action, deployment: Deployment, target: dict[str, Any],
                      model: str) -> Outcome:
        where = describe_deploy(target)
        if deployment.state == states.FAILED:
            detail = f": {deployment.message}" if deployment.message else ""
            return Outcome(action.spec, action.kind, False, f"deploying {model} to {where} "
                           f"{deployment.raw_status}{detail}; the pin stays; `ftops apply` tries again")
        return Outcome(action.spec, action.kind, True, f"{model} is {deployment.raw_status} on {where}; "
                       "`ftops apply` pins it once it is callable", in_flight=deployment.id or model)

    def _finish(self, action: Action, job: RemoteJob) -> Outcome:
        if job.state == states.SUCCEEDED and job.fine_tuned_model:
            provider = self.providers(action.provider)
            spec = self.specs.get(action.spec)
            target = spec.deploy if spec else None
            deployment = None
            if target is not None:  # trained: say so first, then deploy (which may fail or take a while)
                self._set_pending(action, job_id=job.id, status=job.raw_status, state=job.state, error=None)
                deployment = self._deploy(provider, job.fine_tuned_model, target)
                if deployment.state != states.DEPLOYED:
                    self._set_pending(action, job_id=job.id, status=job.raw_status, state=job.state, error=None,
                                      deploy=_deploy_record(target, deployment))
                    return self._not_callable(action, deployment, target, job.fine_tuned_model)
            model_info = provider.get_model(job.fine_tuned_model)
            base_model = (action.inputs or {}).get("base_model") or job.model
            pconf = self.opts.plan_options.providers.get(action.provider) if self.opts.plan_options else None
            kind = kind_of(pconf.type) if pconf else None
            base = kind.effective(pconf).base_of(base_model) if kind and pconf and base_model else base_model
            base_info = provider.get_model(base) if base else None
            now = _iso(self.opts.now())
            location = {**(kind.model_location(pconf) if kind and pconf else {}), **job.location} or None
            trained = job.fine_tuned_model
            model = deployment.model if deployment else trained
            made = _deploy_record(target, deployment) if deployment and target is not None else None
            from ftops import lifecycle

            checkpoint = None
            if spec is not None and spec.pin != "final" and deployment is None:
                chosen = lifecycle.pick_checkpoint(provider, job.id, spec.pin)
                model, checkpoint = chosen.model or trained, lifecycle.checkpoint_record(spec.pin, chosen, trained)
            verdict = self.opts.gate(action, spec, model, self.store.current) if self.opts.gate and spec else None
            if verdict is not None and not verdict.passed:  # the pin stays; the lockfile says what was held back
                held = {"model": model, "trained_model": trained if deployment else None, "deploy": made,
                        "fingerprint": action.fingerprint, "inputs": action.inputs, "job": _job_record(job),
                        "location": location, "recorded_at": now, "eval": verdict.record}
                self.store.update(action.spec, lambda e: _held_back(e or LockEntry(name=action.spec,
                                                                                     provider=action.provider),
                                                                    held, job.id))
                return Outcome(action.spec, action.kind, True, verdict.message, held=True)
            deploy = self._superseding(action, provider, made) if made is not None else None
            rows = lifecycle.rows_or_none(provider, job.id)
            metrics = lifecycle.summary_or_none(rows, job)

            def record(entry: LockEntry | None) -> LockEntry:
                entry = entry or LockEntry(name=action.spec, provider=action.provider)
                pending = entry.pending or {}
                same = pending.get("job_id") == job.id
                return entry.with_(
                    model=model, trained_model=trained if deployment else None, location=location, deploy=deploy,
                    checkpoint=checkpoint, metrics=metrics,
                    superseded=lifecycle.superseded(entry, model, now, trained),
                    fingerprint=pending.get("fingerprint") if same else action.fingerprint,
                    inputs=pending.get("inputs") if same else action.inputs,
                    job=_job_record(job),
                    base_model_shutdown_date=(base_info.shutdown_date if base_info else None),
                    model_shutdown_date=(model_info.shutdown_date if model_info else None),
                    recorded_at=now, pending=None if same or not pending else pending,
                    protect=self.specs[action.spec].protect if action.spec in self.specs else entry.protect,
                    eval=verdict.record if verdict else None, candidate=None)
            self.store.update(action.spec, record)
            # a child trains from it (not from a serving name; from the checkpoint when one is pinned)
            self._finished_models[action.spec] = model if checkpoint else trained
            if spec is not None:
                for note in lifecycle.track(spec, provider, job, rows, (action.inputs or {}), self.opts.project):
                    self.opts.say(f"{action.spec}: {note}")
            return Outcome(action.spec, action.kind, True, f"pinned {model}"
                           + (f" ({verdict.message})" if verdict and verdict.message else ""))
        error = {"code": job.error.code, "message": job.error.message} if job.error else None
        self._set_pending(action, job_id=job.id, status=job.raw_status, state=job.state, error=error)
        detail = f": {job.error.message}" if job.error else ""
        return Outcome(action.spec, action.kind, False, f"job {job.id} {job.raw_status}{detail}")


def _must(entry: LockEntry | None) -> LockEntry:
    assert entry is not None, "a pinned entry disappeared from the lockfile"
    return entry


def _without(deploy: dict[str, Any] | None, removed: list[str]) -> dict[str, Any] | None:
    """A deploy record without the superseded deployments that were removed."""
    if not deploy or not removed:
        return deploy
    left = [d for d in deploy.get("superseded") or () if d.get("model") not in removed]
    out = {k: v for k, v in deploy.items() if k != "superseded"}
    return {**out, "superseded": left} if left else out


def _held_back(entry: LockEntry, candidate: dict[str, Any], job_id: str) -> LockEntry:
    """The entry with a candidate the eval gate held back (its job's pending record is done with)."""
    pending = entry.pending if entry.pending and entry.pending.get("job_id") != job_id else None
    return entry.with_(candidate=candidate, pending=pending)


def _deploy_record(target: dict[str, Any], deployment: Deployment) -> dict[str, Any]:
    return {"target": dict(target), "id": deployment.id, "model": deployment.model, "state": deployment.state,
            "status": deployment.raw_status}


def _job_record(job: RemoteJob) -> dict[str, Any]:
    record: dict[str, Any] = {"id": job.id, "status": job.raw_status, "state": job.state,
                              "trained_tokens": job.trained_tokens,
                              "hyperparameters": dict(sorted(job.hyperparameters.items())), "seed": job.seed,
                              "finished_at": _iso(dt.datetime.fromtimestamp(job.finished_at, dt.timezone.utc))
                              if job.finished_at else None}
    if job.launch_key:
        record["launch_key"] = job.launch_key
    return record
