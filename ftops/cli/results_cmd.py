"""``ftops results``: a job's training metrics as a summary table, a loss curve (terminal, PNG), CSV or JSON, its
checkpoints, and a sync to W&B or MLflow."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from ftops.cli import context, jobctx
from ftops.cli.completion_cmd import complete_spec_names
from ftops.cli.output import EXIT_OK, echo, emit_json
from ftops.errors import FtopsError, PlanError


class Target(str, Enum):
    wandb = "wandb"
    mlflow = "mlflow"


def results(name: str = typer.Argument(..., help="The spec whose job's metrics to show.",
                                       autocompletion=complete_spec_names),
            job_id: Optional[str] = typer.Option(None, "--job", help="Another job than the one of the pinned model "
                                                 "(or the one in flight)."),
            csv_out: bool = typer.Option(False, "--csv", help="The metrics by step as CSV (nothing else)."),
            json_out: bool = typer.Option(False, "--json", help="Summary, metrics and checkpoints as JSON."),
            plot: Optional[Path] = typer.Option(None, "--plot", help="Also write the loss curve to this PNG file "
                                                "(needs the plot extra: matplotlib)."),
            to: Optional[Target] = typer.Option(None, "--to", help="Also log the run (config = the spec's inputs, "
                                                "metrics by step) to wandb or mlflow.")) -> int:
    """Training metrics of a spec's job: final and best train/valid loss and accuracy, steps, trained tokens,
    time; the loss curve; the checkpoints the job kept (and which one is pinned)."""
    from ftops import lifecycle, results as res

    if csv_out and json_out:
        raise typer.BadParameter("give --csv or --json, not both", param_hint="--csv/--json")
    ws = jobctx.workspace()
    with jobctx.pool(ws) as pool:
        found = jobctx.find_job(ws, pool, name, job_id)
        provider, job = found.provider, found.job
        rows = lifecycle.rows(provider, job.id)
        checkpoints = lifecycle.checkpoints(provider, job.id) \
            if "checkpoints" in provider.capabilities.verbs else []
    entry = found.entry
    pinned = entry.model if entry else None
    if csv_out:
        echo(res.csv_text(rows).rstrip("\n"))
    elif json_out:
        emit_json({"spec": name, "provider": provider.name, "job": job.id, "status": job.raw_status,
                   "state": job.state, "model": job.fine_tuned_model, "pinned": pinned,
                   "trained_tokens": job.trained_tokens, "summary": res.summarize(rows, job),
                   "metrics": res.rows_json(rows),
                   "checkpoints": [{"id": c.id, "step": c.step, "model": c.model, "metrics": c.metrics,
                                    "pinned": bool(pinned and c.model == pinned)} for c in checkpoints]})
    else:
        echo(f"{name}: job {job.id} on {provider.name}, {job.raw_status}"
             + (f", model {job.fine_tuned_model}" if job.fine_tuned_model else ""))
        if not rows:
            echo("No training metrics yet.")
        else:
            echo("")
            for line in res.table(rows, job):
                echo(line)
            echo("")
            for line in res.curve(rows):
                echo(line)
        if checkpoints:
            echo("")
            echo(f"{'checkpoint step':<16}{'train loss':>11}{'valid loss':>11}  model")
            for c in checkpoints:
                mark = "  (pinned)" if pinned and c.model == pinned else ""
                train, valid = c.metrics.get("train_loss"), c.metrics.get("valid_loss")
                echo(f"{c.step:<16}{(f'{train:.4f}' if train is not None else '-'):>11}"
                     f"{(f'{valid:.4f}' if valid is not None else '-'):>11}  {c.model or c.id}{mark}")
    if plot is not None:
        if not rows:
            raise PlanError("there are no metrics to plot yet")
        from ftops.plot import write_png

        path = plot if plot.is_absolute() else context.current.directory / plot
        width, height = write_png(rows, path, f"{name}: job {job.id.rsplit('/', 1)[-1]}")
        echo(f"wrote {plot} ({width}x{height} PNG)", err=csv_out or json_out)
    if to is not None:
        _sync(to.value, ws, name, provider, job, rows, csv_out or json_out)
    return EXIT_OK


def _sync(target: str, ws, name: str, provider, job, rows, quiet: bool) -> None:
    from ftops import lifecycle, tracking
    from ftops.results import summarize

    if not rows:
        raise PlanError("there are no metrics to log yet")
    spec = ws.spec(name)
    entry = ws.lock.get(name)
    inputs = ((entry.pending or {}).get("inputs") if entry and (entry.pending or {}).get("job_id") == job.id
              else (entry.inputs if entry else None)) or {}
    settings = (lifecycle.wandb_settings(spec.integrations) if spec else None) or {}
    run = tracking.TrackedRun(spec=name, job_id=job.id, provider=provider.name,
                              config={**tracking.flat_config(inputs), "ftops_project": ws.project}, rows=rows,
                              summary=summarize(rows, job), settings=settings)
    try:
        where = tracking.log(target, run)
    except FtopsError:
        raise
    echo(f"logged {where}", err=quiet)
