"""validate, plan, apply, status, output: the commands that work on a project. Each returns an exit code."""

from __future__ import annotations

import math
import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from ftops.cli import context
from ftops.cli.completion_cmd import complete_spec_names
from ftops.cli.output import EXIT_CHANGES, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, echo, emit_json, use_colour, warn
from ftops.config import find_root
from ftops.errors import ConfigError, DatasetError, FtopsError, PlanError


class DatasetsHaveErrors(DatasetError):
    """Dataset errors were printed already; the command only exits 1."""


class Format(str, Enum):
    text = "text"
    markdown = "markdown"
    json = "json"


def _root() -> Path:
    directory = context.current.directory
    if not directory.is_dir():
        raise ConfigError(f"{directory} is not a directory")
    return find_root(directory)


def _here(path: Path | None) -> Path | None:
    """A path given on the command line, relative to -C's directory (as Terraform's -chdir does)."""
    return path if path is None or path.is_absolute() else context.current.directory / path


def _dataset_messages(ws, targets: list[str] | None = None) -> int:
    """Print dataset errors and warnings (each once, however many specs share the file), for the targeted specs
    and the parents they need when --target is given; return the number of errors."""
    errors = 0
    shown: set[tuple] = set()
    warned: dict[tuple[str, str], list[str]] = {}  # (code, message) -> the files it applies to, in order
    wanted = _with_parents(ws, targets) if targets else None
    if ws.config.cache_committed:
        warn(".ftops/ is committed to git, so its cached results were not trusted (every file was checked from "
             "scratch); remove it from git: git rm -r --cached .ftops")
    for name, roles in ws.reports.items():
        if wanted is not None and name not in wanted:
            continue
        for role, report in roles.items():
            for finding in report.errors:
                where = f"{report.path}:{finding.line}" if finding.line is not None else f"{report.path}"
                if (where, finding.code, finding.message) in shown:
                    continue
                shown.add((where, finding.code, finding.message))
                echo(f"error: {where}: [{finding.code}] {finding.message} ({name}.{role})", err=True)
                errors += 1
            for warning in report.warnings:
                lines = f" (lines {', '.join(map(str, warning.lines[:5]))}{'...' if len(warning.lines) > 5 else ''})" \
                    if warning.lines else ""
                files = warned.setdefault((warning.code, warning.message + lines), [])
                if str(report.path) not in files:
                    files.append(str(report.path))
        for finding in ws.overlap.get(name, []):  # the provider fails such a job: stop before paying for it
            echo(f"error: {name}: [{finding.code}] {finding.message} (the provider refuses validation files that "
                 "share examples with the training file)", err=True)
            errors += 1
    for (code, message), files in warned.items():  # one line per warning, however many files share it
        if len(files) == 1:
            warn(f"{files[0]}: [{code}] {message}")
        else:
            shown_files = ", ".join(files[:WARNED_FILES]) + (f" and {len(files) - WARNED_FILES} more"
                                                             if len(files) > WARNED_FILES else "")
            warn(f"[{code}] {message} ({len(files)} files: {shown_files})")
    return errors


WARNED_FILES = 5  # files named in a warning several files share


def _with_parents(ws, targets: list[str]) -> set[str]:
    parents = {s.name: s.parent for s in ws.specs}
    wanted: set[str] = set()
    for target in targets:
        name: str | None = target
        while name and name not in wanted:
            wanted.add(name)
            name = parents.get(name)
    return wanted


def validate() -> int:
    """Check ftops.yaml, every spec, the lockfile and every dataset, without contacting any provider."""
    from ftops.workspace import load_workspace

    ws = load_workspace(_root())
    errors = _dataset_messages(ws)
    if errors:
        echo(f"{errors} dataset error(s); fix them before planning.", err=True)
        return EXIT_ERROR
    echo(f"OK: {len(ws.specs)} spec(s), {len(ws.lock.entries)} lockfile entr{'y' if len(ws.lock.entries) == 1 else 'ies'}.")
    return EXIT_OK


def _make_plan(ws, *, refresh: bool, prune: bool, targets: list[str], retry: list[str] | None = None,
               accept: frozenset[str] = frozenset()):
    from ftops.workspace import ProviderPool, build_plan, observe

    unknown = sorted(set(targets) - {s.name for s in ws.specs} - set(ws.lock.entries))
    if unknown:
        raise PlanError(f"--target names no spec: {', '.join(unknown)}")
    unknown = sorted(set(retry or ()) - {s.name for s in ws.specs})
    if unknown:
        raise PlanError(f"--retry names no spec: {', '.join(unknown)}")
    from ftops.providers.http import RetryPolicy
    from ftops.trust import Trust

    pool = ProviderPool(ws.config, Trust.from_environment(context.current.trusted_config),
                        policy=RetryPolicy(sleep=context.current.runtime.sleep)) if refresh else None
    try:
        observed = observe(ws, pool)
    except BaseException:
        if pool:
            pool.close()
        raise
    plan = build_plan(ws, observed, prune=prune, targets=frozenset(targets), today=context.current.runtime.today(),
                      retry=frozenset(retry or ()), accept=accept)
    return plan, pool


def _source(ws) -> str:
    """The providers a plan refreshes (those of the specs and of the lockfile), as its header names them."""
    return ", ".join(sorted({s.provider for s in ws.specs} | {e.provider for e in ws.lock.entries.values()})) \
        or "no provider"


def _render(plan, ws, fmt: Format, colour: bool, pool=None) -> str:
    source = _source(ws)
    if fmt == Format.json:
        from ftops.render.json_plan import render_json

        return render_json(plan, ws)
    if fmt == Format.markdown:
        from ftops.render.markdown import render_markdown

        return render_markdown(plan, ws, _finished_curves(plan, pool))
    from ftops.render.text import render_text

    return render_text(plan, source=source, colour=colour)


def _finished_curves(plan, pool) -> dict:
    """The training metrics of the jobs this plan records as finished (for the PR comment's loss charts); a
    provider without metrics, or one that does not answer, is left out."""
    from ftops import lifecycle

    curves: dict = {}
    if pool is None:
        return curves
    for action in plan.actions:
        if action.kind == "record" and action.job_id and action.provider not in plan.skipped:
            try:
                found = lifecycle.rows_or_none(pool(action.provider), action.job_id)
            except FtopsError:
                found = None
            if found:
                curves[action.job_id] = found
    return curves


def plan(
    format: Format = typer.Option(Format.text, "--format", "-f", help="text, markdown (for PR comments) or json."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Also save the plan (JSON) for `ftops apply FILE`."),
    detailed_exitcode: bool = typer.Option(False, "--detailed-exitcode",
                                           help="Exit 0 with no changes, 2 with changes, 1 on error."),
    no_refresh: bool = typer.Option(False, "--no-refresh", help="Plan from the lockfile alone; no credentials."),
    target: Optional[List[str]] = typer.Option(None, "--target", "-t", help="Only these specs (repeatable).",
                                               autocompletion=complete_spec_names),
    prune: bool = typer.Option(False, "--prune", help="Plan deleting models of removed specs and models a replace "
                               "superseded (never protected ones, never the newest `keep: N`)."),
    retry: Optional[List[str]] = typer.Option(None, "--retry", help="Train again a spec whose job a person "
                                              "cancelled (repeatable).", autocompletion=complete_spec_names),
) -> int:
    """Show what apply would change, why, and what it would cost."""
    from ftops.workspace import load_workspace

    out = _here(out)
    try:
        ws = load_workspace(_root())
        if _dataset_messages(ws, target):
            raise DatasetsHaveErrors("the datasets have errors (listed above); fix them before planning")
        the_plan, pool = _make_plan(ws, refresh=not no_refresh, prune=prune, targets=target or [], retry=retry)
    except FtopsError as exc:
        if format == Format.json:  # tools reading stdout get a document that says what failed
            from ftops.render.json_plan import dumps, failed_document

            echo(dumps(failed_document(exc)))
        if isinstance(exc, DatasetsHaveErrors):
            return EXIT_ERROR
        raise
    try:
        echo(_render(the_plan, ws, format, use_colour(), pool))
    finally:
        if pool:
            pool.close()
    if out:
        from ftops.savedplan import save_plan

        save_plan(out, the_plan, ws, prune=prune, targets=target or [])
        echo(f"Saved plan to {out}; apply exactly it with `ftops apply {out}`.", err=True)
    if the_plan.errors:
        return EXIT_ERROR
    if detailed_exitcode and the_plan.has_changes:
        return EXIT_CHANGES
    return EXIT_OK


def _confirm(auto_approve: bool, saved: bool) -> None:
    """Ask before applying, unless told not to. A saved plan is applied without asking: it was reviewed when it
    was saved, and apply refuses it when it no longer matches (as `terraform apply PLANFILE` does)."""
    if auto_approve or saved:
        return
    if not sys.stdin.isatty():
        raise PlanError("refusing to apply without --auto-approve: there is no terminal to confirm on")
    if not typer.confirm("Apply these changes?", default=False):
        echo("Apply cancelled.", err=True)
        raise typer.Exit(EXIT_ERROR)


def apply(
    planfile: Optional[Path] = typer.Argument(None, help="A plan saved with `ftops plan --out FILE`: applied "
                                              "without asking (saving it after review was the approval), and "
                                              "refused when it no longer matches."),
    auto_approve: bool = typer.Option(False, "--auto-approve", "-y", help="Do not ask for confirmation (needed "
                                      "without a terminal, unless a saved plan is given)."),
    wait: bool = typer.Option(False, "--wait", help="Follow jobs until they finish and record their models."),
    prune: bool = typer.Option(False, "--prune", help="Delete models of removed specs and models a replace "
                               "superseded once the new one is pinned (never protected ones, never the newest "
                               "`keep: N`)."),
    retry: Optional[List[str]] = typer.Option(None, "--retry", help="Train again a spec whose job a person "
                                              "cancelled (repeatable).", autocompletion=complete_spec_names),
    target: Optional[List[str]] = typer.Option(None, "--target", "-t", help="Only these specs (repeatable).",
                                               autocompletion=complete_spec_names),
    lock_timeout: float = typer.Option(0.0, "--lock-timeout", help="Wait this long for another apply to finish."),
    wait_timeout: Optional[float] = typer.Option(None, "--wait-timeout", help="Stop following jobs after this "
                                                 "many seconds (they keep running)."),
    accept: Optional[List[str]] = typer.Option(None, "--accept", help="Pin this spec's candidate that its eval "
                                               "gate held back (repeatable).", autocompletion=complete_spec_names),
) -> int:
    """Make the providers match the specs; record the resulting models in ftops.lock."""
    from ftops.apply import Applier, ApplyOptions, Interrupted
    from ftops.projectlock import ProjectLock
    from ftops.lockstore import LockStore
    from ftops.render.text import render_text
    from ftops.workspace import load_workspace

    root = _root()
    planfile = _here(planfile)
    from ftops.config import load_config

    from ftops.config import require_project

    if not math.isfinite(lock_timeout) or lock_timeout < 0:
        raise typer.BadParameter(f"{lock_timeout} is not a number of seconds (0 or more)", param_hint="--lock-timeout")
    if wait_timeout is not None and (not math.isfinite(wait_timeout) or wait_timeout < 0):
        raise typer.BadParameter(f"{wait_timeout} is not a number of seconds (0 or more)", param_hint="--wait-timeout")
    with ProjectLock(require_project(load_config(root)).state_dir, timeout=lock_timeout):
        ws = load_workspace(root)
        if _dataset_messages(ws, target):
            return EXIT_ERROR
        if planfile is not None:
            from ftops.savedplan import load_saved_plan

            if target or prune:
                raise PlanError("a saved plan already says which specs it covers and whether it prunes; "
                                "drop --target/--prune, or make a new plan with them")

            if accept:
                raise PlanError("a saved plan already says what it pins; drop --accept, or make a new plan")
            saved = load_saved_plan(planfile, ws)
            prune, target = saved.prune, saved.targets
            retry = [a["spec"] for a in saved.document["actions"] if a["kind"] == "retry"]
        accepted = _accepted(ws, accept or [])
        the_plan, pool = _make_plan(ws, refresh=True, prune=prune, targets=target or [], retry=retry,
                                    accept=accepted)
        try:
            if planfile is not None:
                saved.check_matches(the_plan)
            echo(render_text(the_plan, source=_source(ws), colour=use_colour()))
            if the_plan.errors:
                echo("Not applying: the plan has errors.", err=True)
                return EXIT_ERROR
            untrusted = sorted({a.provider for a in the_plan.actions} & set(the_plan.skipped))
            if untrusted:
                raise PlanError(f"not applying: provider(s) {', '.join(untrusted)} could not be contacted with "
                                "trusted credentials (see the warnings above)")
            if not the_plan.has_changes:
                echo("Nothing to do.")
                return EXIT_OK
            _confirm(auto_approve, saved=planfile is not None)
            rt = context.current.runtime
            from ftops.workspace import plan_options

            from ftops.eval.applygate import EvalGate
            from ftops.progress import live_or_plain

            with live_or_plain(echo) as live:  # bars on a terminal; the plain lines elsewhere
                say = live.say if live else echo
                gate = EvalGate(ws, pool, accept=accepted, say=say) if any(s.eval for s in ws.specs) else None
                opts = ApplyOptions(project=ws.project, wait=wait, poll_interval=rt.poll_interval,
                                    timeout=wait_timeout, sleep=rt.sleep, now=rt.now, say=say,
                                    lease_wait=max(lock_timeout, 600.0), plan_options=plan_options(ws),
                                    progress=live.job if live else None, gate=gate)
                store = LockStore(ws.config.lockfile, ws.lock, deferred=True)
                applier = Applier(the_plan, {s.name: s for s in ws.specs}, store, pool, opts)
                try:
                    outcomes = applier.run()
                except Interrupted:
                    _interrupted(store, the_plan, applier.outcomes)
                    return EXIT_INTERRUPTED
            if planfile is not None:
                from ftops.savedplan import mark_applied

                mark_applied(planfile)
        finally:
            pool.close()
    failed = [o for o in outcomes if not o.ok]
    in_flight = [o for o in outcomes if o.in_flight]
    deferred = [o for o in outcomes if o.deferred and o.ok]
    held = [o for o in outcomes if o.held]
    done = len(outcomes) - len(failed) - len(in_flight) - len(deferred) - len(held)
    echo(f"\nApply finished: {done} done, {len(failed)} failed"
         + (f", {len(held)} held back by an eval gate (the pin stayed; `ftops apply --accept NAME` pins it)"
            if held else "")
         + (f", {len(in_flight)} job(s) still running (run `ftops apply` again to record them)" if in_flight
            else "")
         + (f", {len(deferred)} waiting for a parent" if deferred else "") + ".")
    return EXIT_ERROR if failed else EXIT_OK


def _accepted(ws, names: list[str]) -> frozenset[str]:
    """``--accept`` names, each a spec with a candidate its eval gate held back."""
    for name in names:
        entry = ws.lock.get(name)
        if ws.spec(name) is None:
            raise PlanError(f"--accept names no spec: {name}")
        if entry is None or not entry.candidate:
            raise PlanError(f"--accept {name}: it has no candidate held back by an eval gate",
                            hint="`ftops plan` shows held-back candidates with their numbers")
    return frozenset(names)


def _interrupted(store, plan, outcomes) -> None:
    echo("\nInterrupted. The lockfile is consistent; in flight:", err=True)
    for name, entry in sorted(store.current.entries.items()):
        if entry.pending:
            echo(f"  {name}: job {entry.pending.get('job_id') or '(not started)'} "
                 f"{entry.pending.get('status')}", err=True)
    untouched = sorted({a.spec for a in plan.actions if a.launches} - {o.spec for o in outcomes if not o.deferred} - {
        n for n, e in store.current.entries.items() if e.pending})
    if untouched:
        echo(f"Not started yet: {', '.join(untouched)}.", err=True)
    echo("Run `ftops apply` again to pick them up; started jobs are adopted, never started twice.", err=True)


def status(json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
           refresh: bool = typer.Option(False, "--refresh", help="Ask the providers for the current status of "
                                        "the jobs in flight (the lockfile is not changed; apply records).")) -> int:
    """What the lockfile pins, what is in flight, and when each model shuts down (--refresh: ask the providers)."""
    from ftops.status import collect_status

    from ftops.config import load_config, require_project
    from ftops.lockfile import read_lockfile

    config = require_project(load_config(_root()))
    lock = read_lockfile(config.lockfile, config.rel(config.lockfile), config.cache_dir)
    rows = collect_status(lock, context.current.runtime.today(), config.providers)
    if refresh:
        _refresh_status(config, lock, rows)
    if json_out:
        emit_json({"models": rows})
        return EXIT_OK
    if not rows:
        echo("The lockfile pins no models yet. Run `ftops plan`.")
    for row in rows:
        echo(f"{row['name']}: {row['model'] or '(no model yet)'}  [{row['provider']}]")
        pending = row.get("pending")
        if pending:
            live = pending.get("live")
            now = f"{live['status']} (the lockfile says {pending.get('status')})" if live and \
                live["status"] != pending.get("status") else (live or {}).get("status") or pending.get("status")
            echo(f"    pending: job {pending.get('job_id') or '(not started)'} {now}"
                 + (f": {live['error']}" if live and live.get("error") else ""))
        if row.get("superseded"):
            echo(f"    superseded: {', '.join(row['superseded'])} (`ftops apply --prune` deletes them)")
        for label in ("model_shutdown_date", "base_model_shutdown_date"):
            if row.get(label):
                echo(f"    {label.replace('_', ' ')}: {row[label]}{_when(row[label.replace('date', 'days_left')])}")
    return EXIT_OK


def _when(days: int | None) -> str:
    """A shutdown date's distance from today, in words."""
    if days is None:
        return ""
    if days < 0:
        return f" (shut down {-days} day{'s' if days < -1 else ''} ago)"
    return " (shuts down today)" if days == 0 else f" ({days} day{'s' if days > 1 else ''} left)"
def _refresh_status(config, lock, rows) -> None:
    """Each pending job's status as its provider reports it now, under ``pending.live``."""
    from ftops.providers.http import RetryPolicy
    from ftops.trust import Trust
    from ftops.workspace import ProviderPool

    with ProviderPool(config, Trust.from_environment(context.current.trusted_config),
                      policy=RetryPolicy(sleep=context.current.runtime.sleep)) as pool:
        for row in rows:
            pending = row.get("pending") or {}
            if not pending.get("job_id") or row["provider"] not in config.providers:
                continue
            try:
                job = pool(row["provider"]).get_job(pending["job_id"])
            except FtopsError as exc:
                pending["live"] = {"status": "unknown", "state": "unknown", "error": str(exc)}
                continue
            pending["live"] = {"status": job.raw_status, "state": job.state,
                               "error": job.error.message if job.error else None,
                               "model": job.fine_tuned_model}


def output(name: Optional[str] = typer.Argument(None, help="A spec name; all models when omitted.",
                                               autocompletion=complete_spec_names),
           json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> int:
    """Print pinned model names (one name: just the model, for scripts)."""
    from ftops.config import load_config, require_project
    from ftops.lockfile import read_lockfile

    config = require_project(load_config(_root()))
    lock = read_lockfile(config.lockfile, config.rel(config.lockfile), config.cache_dir)
    models = {n: e.model for n, e in sorted(lock.entries.items())}
    if name is not None:
        if not models.get(name):
            raise PlanError(f"no model is pinned for {name!r}" + ("" if name in models else " (not in the lockfile)"))
        if json_out:
            emit_json({name: models[name]})
        else:
            echo(models[name] or "")
        return EXIT_OK
    if json_out:
        emit_json(models)
    else:
        for n, m in models.items():
            echo(f"{n} = {m or '(none yet)'}")
    return EXIT_OK


def register(app: typer.Typer) -> None:
    for command in (validate, plan, apply, status, output):
        app.command()(command)
