"""Experiment tracking after the job: a run in Weights & Biases or MLflow with the spec's inputs as its config and
the job's training metrics as its history, like the old ``openai wandb sync``.

Both libraries are optional extras (``ftops[wandb]``, ``ftops[mlflow]``), imported only here and only when used;
without them the caller gets a TrackingUnavailable that says what to install. W&B honours its own environment
(``WANDB_MODE=offline`` needs no account: the run is written under ``WANDB_DIR`` for a later ``wandb sync``);
MLflow logs to ``MLFLOW_TRACKING_URI`` (a ``file:`` store needs no server).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any

from ftops.errors import FtopsError
from ftops.providers.base import MetricRow

TARGETS = ("wandb", "mlflow")


class TrackingUnavailable(FtopsError):
    """The tracking library is not installed (or refused to start)."""


@dataclass(frozen=True)
class TrackedRun:
    spec: str
    job_id: str
    provider: str
    config: dict[str, Any]  # the spec's inputs as used, flattened for display
    rows: list[MetricRow]
    summary: dict[str, Any]
    settings: dict[str, Any]  # the spec's integration block (wandb: project, name, entity, tags), or {}

    @property
    def run_id(self) -> str:
        """The same job is always the same run (a second sync continues it, it does not add another)."""
        return "ftops-" + hashlib.sha256(f"{self.provider}/{self.job_id}".encode()).hexdigest()[:16]

    @property
    def name(self) -> str:
        return str(self.settings.get("name") or f"{self.spec}-{self.job_id.rsplit('/', 1)[-1]}")


def flat_config(inputs: dict[str, Any]) -> dict[str, Any]:
    """The inputs a run was trained from, as tracking config: files by path, sha256 and counts, the method's
    hyperparameters at the top (as the trackers compare runs by them)."""
    config: dict[str, Any] = {}
    for key, value in inputs.items():
        if key in ("training_file", "validation_file") and isinstance(value, dict):
            config[key] = {k: value.get(k) for k in ("path", "sha256", "examples", "tokens")}
        elif key == "method" and isinstance(value, dict):
            config["method"] = value.get("type")
            for name, setting in (value.get("hyperparameters") or {}).items():
                config[name] = setting
            if value.get("training_type"):
                config["training_type"] = value["training_type"]
        else:
            config[key] = value
    return config


def log(target: str, run: TrackedRun) -> str:
    """Log ``run`` to ``target`` ("wandb" or "mlflow"); returns where it went, in words."""
    if target == "wandb":
        return _wandb(run)
    if target == "mlflow":
        return _mlflow(run)
    raise FtopsError(f"unknown tracking target {target!r}; use {' or '.join(TARGETS)}")


def _wandb(run: TrackedRun) -> str:
    try:
        import wandb
    except ImportError:
        raise TrackingUnavailable("logging to W&B needs the wandb package",
                                  hint="pip install 'ftops[wandb]'") from None
    settings = run.settings
    tags = ["ftops", f"ftops/{run.spec}", *[str(t) for t in settings.get("tags") or ()]]
    where_to: dict[str, Any] = {k: v for k, v in (("dir", os.environ.get("WANDB_DIR")), ("mode", os.environ.get("WANDB_MODE")))
                if v}  # read now: wandb keeps the first run's settings for the whole process
    try:
        live = wandb.init(project=str(settings.get("project") or run.spec), entity=settings.get("entity") or None,
                          name=run.name, id=run.run_id, resume="allow", config=run.config, tags=tags,
                          job_type="fine-tune", reinit="finish_previous", **where_to)
    except Exception as exc:  # noqa: BLE001 - wandb raises its own errors (no key online, a bad entity, ...)
        raise TrackingUnavailable(f"W&B would not start a run: {exc}",
                                  hint="set WANDB_API_KEY, or WANDB_MODE=offline to log locally") from None
    try:
        for row in run.rows:
            live.log(dict(row.values), step=row.step)
        live.summary.update({k: v for k, v in run.summary.items()})
        live.summary["ftops/job"] = run.job_id
        where = getattr(live, "dir", None) or ""
        url = getattr(live, "url", None)
    finally:
        live.finish()
    if os.environ.get("WANDB_MODE") in ("offline", "dryrun"):
        return f"W&B offline run {run.run_id} ({os.path.dirname(where) if where else 'under WANDB_DIR'}; upload it " \
               "later with `wandb sync`)"
    return f"W&B run {url or run.run_id}"


def _mlflow(run: TrackedRun) -> str:
    try:
        import mlflow
    except ImportError:
        raise TrackingUnavailable("logging to MLflow needs the mlflow package (mlflow-skinny is enough)",
                                  hint="pip install 'ftops[mlflow]'") from None
    experiment = str(run.settings.get("project") or os.environ.get("MLFLOW_EXPERIMENT_NAME") or run.spec)
    try:
        mlflow.set_experiment(experiment)
        found = mlflow.search_runs(experiment_names=[experiment], output_format="list",
                                   filter_string=f"tags.`ftops.run_id` = '{run.run_id}'")
        run_id = found[0].info.run_id if found else None
        with mlflow.start_run(run_id=run_id, run_name=run.name,
                              tags={"ftops.run_id": run.run_id, "ftops.spec": run.spec, "ftops.job": run.job_id,
                                    "ftops.provider": run.provider}) as active:
            if run_id is None:
                mlflow.log_params({k: _param(v) for k, v in run.config.items()})
            for row in run.rows:
                mlflow.log_metrics(dict(row.values), step=row.step)
            mlflow.log_metrics({f"final_{k}": float(v) for k, v in run.summary.items()
                                if isinstance(v, (int, float)) and not isinstance(v, bool)})
            return f"MLflow run {active.info.run_id} in experiment {experiment!r} ({mlflow.get_tracking_uri()})"
    except Exception as exc:  # noqa: BLE001 - mlflow's own errors (a refused store, a bad URI)
        raise TrackingUnavailable(f"MLflow refused the run: {exc}",
                                  hint="a local store: MLFLOW_TRACKING_URI=file:/path (and "
                                       "MLFLOW_ALLOW_FILE_STORE=true on MLflow 3.x)") from None


def _param(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text[:500]  # MLflow's limit for a param value
