"""jobs, logs, cancel, pause, resume, delete: what happens after a job starts, through the provider-neutral
interface. Each returns an exit code; a verb the provider lacks is a user error (exit 1) that says so."""

from __future__ import annotations

import datetime as dt
import sys
import typing
from typing import List, Optional

import typer

from ftops.cli import context, jobctx
from ftops.cli.completion_cmd import complete_spec_names
from ftops.cli.output import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, echo, emit_json, warn
from ftops.errors import FtopsError, LockHeldError, NotFoundError, PlanError
from ftops.providers import base as states
from ftops.providers.base import Pauses, RemoteEvent, RemoteJob, Resumes


def _when(seconds: int | float | None) -> str:
    if not seconds:
        return "-"
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def outcome_code(job: RemoteJob) -> int:
    """A job's outcome as an exit code: 0 succeeded (or still running), 1 failed or cancelled."""
    return EXIT_ERROR if job.state in (states.FAILED, states.CANCELLED) else EXIT_OK


# -- jobs ------------------------------------------------------------------------------------------------------
def jobs(names: Optional[List[str]] = typer.Argument(None, help="Only these specs' jobs.",
                                                     autocompletion=complete_spec_names),
         limit: int = typer.Option(20, "--limit", "-n", min=1, max=1000, help="Newest jobs per provider."),
         json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> int:
    """List ftops's jobs as the providers report them now (in flight first, then recent), with spec names."""
    ws = jobctx.workspace()
    wanted = set(names or ())
    unknown = sorted(n for n in wanted if ws.spec(n) is None and ws.lock.get(n) is None)
    if unknown:
        raise PlanError(f"no spec and no lockfile entry is named {', '.join(unknown)}")
    spec_of: dict[str, str] = {}  # job id -> spec, from the lockfile
    for name, entry in ws.lock.entries.items():
        for job_id in ((entry.pending or {}).get("job_id"), (entry.job or {}).get("id")):
            if job_id:
                spec_of[job_id] = name
    providers = sorted({s.provider for s in ws.specs} | {e.provider for e in ws.lock.entries.values()})
    if wanted:
        providers = sorted({jobctx.provider_of(ws, n) for n in wanted})
    rows: list[dict] = []
    with jobctx.pool(ws) as pool:
        for name in providers:
            if name not in ws.config.providers:
                continue
            provider = pool(name)
            seen = set()
            for job in provider.list_jobs(ws.project, limit=limit):
                seen.add(job.id)
                rows.append(_row(name, job, job.spec or spec_of.get(job.id)))
            for job_id, spec in spec_of.items():  # the lockfile's jobs a short listing did not show
                known = ws.lock.get(spec)
                if job_id not in seen and known and known.provider == name \
                        and (known.pending or {}).get("job_id") == job_id:
                    try:
                        rows.append(_row(name, provider.get_job(job_id), spec))
                    except FtopsError as exc:
                        warn(f"{spec}: could not ask {name} about job {job_id}: {exc}")
    if wanted:
        rows = [r for r in rows if r["spec"] in wanted]
    rows.sort(key=lambda r: (r["state"] not in states.IN_FLIGHT, -(r["created_at"] or 0)))
    if json_out:
        emit_json({"jobs": rows})
        return EXIT_OK
    if not rows:
        echo("No jobs." + ("" if wanted else " `ftops apply` starts them."))
        return EXIT_OK
    echo(f"{'SPEC':<24} {'JOB':<34} {'STATUS':<18} {'PROVIDER':<12} {'CREATED':<21} MODEL / ERROR")
    for r in rows:
        detail = r["model"] or (r["error"] or "")
        echo(f"{(r['spec'] or '?'):<24} {r['job']:<34} {r['status']:<18} {r['provider']:<12} "
             f"{_when(r['created_at']):<21} {detail}")
    return EXIT_OK


def _row(provider: str, job: RemoteJob, spec: str | None) -> dict:
    return {"spec": spec, "job": job.id, "provider": provider, "status": job.raw_status, "state": job.state,
            "base_model": job.model, "model": job.fine_tuned_model, "created_at": job.created_at,
            "finished_at": job.finished_at, "error": job.error.message if job.error else None}


# -- logs ------------------------------------------------------------------------------------------------------
def event_line(event: RemoteEvent) -> str:
    data = event.data or {}
    text = event.message
    if event.type == "metrics" or "train_loss" in data:
        step, total = data.get("step"), data.get("total_steps")
        parts = [f"{label} {data[key]:.4f}" for key, label in (("train_loss", "train loss"),
                                                              ("valid_loss", "valid loss"),
                                                              ("train_mean_token_accuracy", "train acc"),
                                                              ("train_accuracy", "train acc"),
                                                              ("valid_mean_token_accuracy", "valid acc"),
                                                              ("valid_accuracy", "valid acc"))
                 if isinstance(data.get(key), (int, float))]
        if step is not None and parts:
            text = f"step {step}" + (f"/{total}" if total else "") + ": " + ", ".join(parts)
    level = "" if event.level in ("info", "") else f"[{event.level}] "
    when = _when(event.created_at) if event.created_at else " " * 20
    return f"{when}  {level}{text}"


def logs(name: str = typer.Argument(..., help="The spec whose job to show.", autocompletion=complete_spec_names),
         follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing events until the job ends; "
                                     "exit 0 when it succeeded, 1 when it failed or was cancelled."),
         job_id: Optional[str] = typer.Option(None, "--job", help="Another job than the spec's latest."),
         tail: int = typer.Option(200, "--tail", min=1, help="How many of the newest events to show first.")) -> int:
    """Show a job's events (status changes, steps with train/valid loss); --follow streams them as they come.
    Needs no apply lock; Ctrl-C stops following, the job keeps running."""
    ws = jobctx.workspace()
    with jobctx.pool(ws) as pool:
        found = jobctx.find_job(ws, pool, name, job_id)
        provider, job = found.provider, found.job
        has_events = "events" in provider.capabilities.verbs
        echo(f"{name}: job {job.id} on {provider.name} ({job.model}): {job.raw_status}")
        seen: set[str] = set()
        steps = {"events": False, "last": 0}  # whether events carry the metrics; the last step shown

        def new_events(limit: int) -> list[RemoteEvent]:
            fresh = [e for e in reversed(provider.list_events(job.id, limit=limit)) if e.id not in seen] \
                if has_events else []
            seen.update(e.id for e in fresh)
            steps["events"] = steps["events"] or any("train_loss" in (e.data or {}) for e in fresh)
            if not steps["events"] and "metrics" in provider.capabilities.verbs:  # e.g. Together: a metrics call
                from ftops import lifecycle

                for row in lifecycle.rows_or_none(provider, job.id) or ():
                    if row.step > steps["last"]:
                        fresh.append(RemoteEvent(id=f"metrics:{row.step}", created_at=row.time or 0, level="info",
                                                 message="", type="metrics",
                                                 data={"step": row.step, **row.values}))
                steps["last"] = max([steps["last"]] + [int((e.data or {}).get("step") or 0) for e in fresh
                                                       if e.id.startswith("metrics:")])
            return fresh

        from ftops import progress

        with progress.live_or_plain(echo) as live:
            say = live.say if live else echo
            for event in new_events(tail):
                say(event_line(event))
                _bar(live, name, job, event)
            if not follow:
                return _closing(say, name, job)
            if not has_events:
                say(f"({provider.name} reports no events for its jobs; following its status)")
            status = job.raw_status
            try:
                while job.state not in states.TERMINAL:
                    context.current.runtime.sleep(context.current.runtime.poll_interval)
                    job = provider.get_job(job.id)
                    for event in new_events(100):
                        say(event_line(event))
                        _bar(live, name, job, event)
                    if job.raw_status != status:
                        status = job.raw_status
                        say(f"{_when(context.current.runtime.now().timestamp())}  status: {status}")
                        if live:
                            live.job(name, status)
            except KeyboardInterrupt:
                say(f"stopped following; job {job.id} keeps running (`ftops cancel {name}` stops it)")
                return EXIT_INTERRUPTED
            return _closing(say, name, job)


def _bar(live, name: str, job: RemoteJob, event: RemoteEvent) -> None:
    data = event.data or {}
    if live is not None and isinstance(data.get("step"), int):
        total = data.get("total_steps")
        live.job(name, job.raw_status, data["step"], total if isinstance(total, int) else None)


def _closing(say, name: str, job: RemoteJob) -> int:
    if job.state == states.SUCCEEDED:
        say(f"{name}: job {job.id} succeeded: {job.fine_tuned_model}")
    elif job.state in (states.FAILED, states.CANCELLED):
        detail = f": {job.error.message}" if job.error else ""
        say(f"{name}: job {job.id} {job.raw_status}{detail}")
    return outcome_code(job)


# -- cancel, pause, resume -------------------------------------------------------------------------------------
VERBS = {"cancel": "cancelled", "pause": "paused", "resume": "resumed"}


def _verb(verb: str, name: str, job_id: str | None, lock_timeout: float) -> int:
    from ftops import lifecycle
    from ftops.config import require_project
    from ftops.lockstore import LockStore
    from ftops.projectlock import ProjectLock

    ws = jobctx.workspace()
    with jobctx.pool(ws) as pool:
        found = jobctx.find_job(ws, pool, name, job_id, in_flight=verb != "resume")
        provider, job = found.provider, found.job
        lifecycle.require(provider, verb)
        if verb != "resume" and job.state in states.TERMINAL:
            raise PlanError(f"{name}: job {job.id} has already {job.raw_status}; there is nothing to {verb}",
                            hint="`ftops apply` records a finished job" if job.state == states.SUCCEEDED else None)
        lock = ProjectLock(require_project(ws.config).state_dir, timeout=lock_timeout, command=verb)
        try:
            lock.__enter__()
            locked = True
        except LockHeldError as exc:  # act all the same: an apply in progress sees the new state and records it
            locked = False
            holder = str(exc)
        try:
            if verb == "cancel":
                job = provider.cancel_job(job.id)
            elif verb == "pause":
                job = typing.cast(Pauses, provider).pause_job(job.id)
            else:
                job = typing.cast(Resumes, provider).resume_job(job.id)
            echo(f"{name}: job {job.id} {VERBS[verb]}: {job.raw_status}")
            if not found.pending:
                echo("(the lockfile does not follow this job; nothing recorded)")
            elif locked:
                store = LockStore(ws.config.lockfile, ws.lock)
                requested = {"verb": verb, "at": jobctx.now_iso()}
                store.update(name, lambda e: e.with_(pending={**(e.pending or {}), "status": job.raw_status,
                                                               "state": job.state, "requested": requested})
                             if e else None)
                echo(f"recorded in {ws.config.rel(ws.config.lockfile)}")
            else:
                warn(f"not recorded in the lockfile: {holder}; that apply records the job's new state when it "
                     "next asks the provider")
        finally:
            if locked:
                lock.__exit__(None, None, None)
    if verb == "cancel":
        echo(f"`ftops apply` does not start it again; `ftops apply --retry {name}` trains it when you want to.")
    elif verb == "pause":
        echo(f"`ftops resume {name}` continues it.")
    return EXIT_OK


_JOB = typer.Option(None, "--job", help="Another job than the spec's in-flight one.")
_LOCK = typer.Option(0.0, "--lock-timeout", help="Wait this long for an apply holding the project lock (the "
                     "provider is told at once either way).")


def cancel(name: str = typer.Argument(..., help="The spec whose in-flight job to cancel.",
                                      autocompletion=complete_spec_names),
           job_id: Optional[str] = _JOB, lock_timeout: float = _LOCK) -> int:
    """Cancel a spec's in-flight job and record it: apply does not start it again until `--retry NAME`."""
    return _verb("cancel", name, job_id, lock_timeout)


def pause(name: str = typer.Argument(..., help="The spec whose running job to pause.",
                                     autocompletion=complete_spec_names),
          job_id: Optional[str] = _JOB, lock_timeout: float = _LOCK) -> int:
    """Pause a spec's running job (where the provider can) and record it; `ftops resume` continues it."""
    return _verb("pause", name, job_id, lock_timeout)


def resume(name: str = typer.Argument(..., help="The spec whose paused job to resume.",
                                      autocompletion=complete_spec_names),
           job_id: Optional[str] = _JOB, lock_timeout: float = _LOCK) -> int:
    """Resume a spec's paused job (some providers also continue a cancelled or failed one) and record it."""
    return _verb("resume", name, job_id, lock_timeout)


# -- delete ----------------------------------------------------------------------------------------------------
def delete(name: str = typer.Argument(..., help="The lockfile entry whose models to delete.",
                                      autocompletion=complete_spec_names),
           yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation (needed without a "
                                    "terminal)."),
           lock_timeout: float = typer.Option(0.0, "--lock-timeout", help="Wait this long for another apply.")) -> int:
    """Delete a spec's pinned model (and the models it superseded) from its provider, cancel its job in flight,
    and remove its lockfile entry. Never a protected one. Asks first."""
    from ftops import lifecycle
    from ftops.config import require_project
    from ftops.lockstore import LockStore
    from ftops.projectlock import ProjectLock

    ws = jobctx.workspace()
    entry = ws.lock.get(name)
    if entry is None:
        raise PlanError(f"the lockfile has no entry {name!r}; there is nothing of it to delete")
    spec = ws.spec(name)
    if entry.protect or (spec is not None and spec.protect):
        raise PlanError(f"{name} is protected (protect: true); ftops never deletes its models",
                        hint="set protect: false in its spec and apply first, if you mean it")
    trained = lifecycle.trained_of(entry)
    models = ([trained] if trained else []) + [s["model"] for s in entry.superseded or () if not s.get("protect")]
    kept = [s["model"] for s in entry.superseded or () if s.get("protect")]
    job_id = (entry.pending or {}).get("job_id") if (entry.pending or {}).get("state") not in states.TERMINAL \
        else None
    with jobctx.pool(ws) as pool:
        provider = pool(entry.provider)
        if models:
            lifecycle.require(provider, "delete_model")
        live_job = None
        if job_id:
            try:
                live_job = provider.get_job(job_id)
            except NotFoundError:
                live_job = None
            if live_job is not None and live_job.state in states.TERMINAL:
                live_job = None
        echo(f"This deletes from {entry.provider}: " + (", ".join(models) or "no model") + ".")
        if live_job is not None:
            echo(f"It cancels job {live_job.id} ({live_job.raw_status}).")
        if kept:
            echo(f"It leaves {', '.join(kept)} (recorded while the spec was protected).")
        echo(f"It removes {name!r} from {ws.config.rel(ws.config.lockfile)}. This cannot be undone.")
        if spec is not None:
            warn(f"spec {name!r} still exists ({spec.source}): the next `ftops apply` trains it again; remove it "
                 "to retire the model")
        if not yes:
            if not sys.stdin.isatty():
                raise PlanError("refusing to delete without --yes: there is no terminal to confirm on")
            if not typer.confirm(f"Delete {name}?", default=False):
                echo("Nothing deleted.")
                return EXIT_ERROR
        with ProjectLock(require_project(ws.config).state_dir, timeout=lock_timeout, command="delete"):
            if live_job is not None:
                provider.cancel_job(live_job.id)
                echo(f"cancelled job {live_job.id}")
            for model in models:
                provider.delete_model(model)  # already gone is done
                echo(f"deleted {model}")
            LockStore(ws.config.lockfile, ws.lock).update(name, lambda e: None)
    echo(f"{name}: removed from the lockfile.")
    return EXIT_OK


def register(app: typer.Typer) -> None:
    for command in (jobs, logs, cancel, pause, resume, delete):
        app.command()(command)
