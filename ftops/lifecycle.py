"""After a job starts, through the provider-neutral interface: its metrics (from whichever source the provider
has), the checkpoint a spec pins, the models a replace superseded, and experiment tracking after the job.

Every optional verb is asked for by name (``Capabilities.verbs``) before it is used; a provider without it gets a
PlanError that says what it can do instead. Used by apply (recording a finished job) and by the CLI's job verbs.
"""

from __future__ import annotations

from typing import Any, cast

from ftops.errors import FtopsError, PlanError
from ftops.lockfile import LockEntry
from ftops.providers.base import (HasCheckpoints, HasMetrics, MetricRow, Provider, RemoteCheckpoint, RemoteJob)
from ftops.results import choose_checkpoint, summarize

VERB_WORDS = {"cancel": "cancel a job", "pause": "pause a job", "resume": "resume a job",
              "events": "list a job's events", "checkpoints": "list a job's checkpoints",
              "metrics": "give a job's training metrics", "delete_model": "delete a model",
              "checkpoint_models": "serve a job's checkpoints as models",
              "import": "look up a fine-tune made outside ftops"}


def label(provider: Provider) -> str:
    return f"provider {provider.name!r} ({provider.type})" if provider.name != provider.type \
        else f"provider {provider.name!r}"


def require(provider: Provider, verb: str) -> None:
    """A PlanError (exit 1) when ``provider`` does not offer ``verb``, naming what it offers."""
    verbs = provider.capabilities.verbs
    if verb in verbs:
        return
    offered = ", ".join(sorted(v for v in verbs if v in VERB_WORDS)) or "none of them"
    raise PlanError(f"{label(provider)} cannot {VERB_WORDS.get(verb, verb)}: its API has no such call",
                    hint=f"what it offers: {offered}")


# -- metrics -------------------------------------------------------------------------------------------------
def rows(provider: Provider, job_id: str) -> list[MetricRow]:
    """A job's training metrics by step: the provider's metrics (result file, metrics endpoint, the trainer's
    log), else the metrics its events carry."""
    verbs = provider.capabilities.verbs
    if "metrics" in verbs:
        return cast(HasMetrics, provider).results(job_id)
    if "events" in verbs:
        return rows_of_events(provider, job_id)
    raise PlanError(f"{label(provider)} does not give a job's training metrics through its API (neither a "
                    "metrics call nor events)",
                    hint="see them in the provider's console, or have the trainer log to W&B (integrations:)")


def rows_of_events(provider: Provider, job_id: str) -> list[MetricRow]:
    from ftops.providers.openai.client import neutral_metrics

    found: dict[int, MetricRow] = {}
    for event in provider.list_events(job_id, limit=100_000):
        data = event.data or {}
        step = data.get("step")
        if isinstance(step, int) and not isinstance(step, bool) and step not in found:
            values = neutral_metrics(data) or {k: float(v) for k, v in data.items() if k in ("train_loss",
                                                                                             "valid_loss")}
            if values:
                found[step] = MetricRow(step, values, event.created_at or None)
    return [found[s] for s in sorted(found)]


def rows_or_none(provider: Provider, job_id: str) -> list[MetricRow] | None:
    """The metrics when the provider has them; None otherwise (recording a model never fails for want of them)."""
    try:
        return rows(provider, job_id)
    except FtopsError:
        return None


def summary_or_none(found: list[MetricRow] | None, job: RemoteJob) -> dict[str, Any] | None:
    return summarize(found, job) if found else None


# -- checkpoints ---------------------------------------------------------------------------------------------
def checkpoints(provider: Provider, job_id: str) -> list[RemoteCheckpoint]:
    require(provider, "checkpoints")
    return cast(HasCheckpoints, provider).list_checkpoints(job_id)


def pick_checkpoint(provider: Provider, job_id: str, pin: Any) -> RemoteCheckpoint:
    """The checkpoint of ``job_id`` that ``pin`` names (a model that can be called)."""
    require(provider, "checkpoint_models")
    return choose_checkpoint(pin, checkpoints(provider, job_id), job_id)


def checkpoint_record(pin: Any, chosen: RemoteCheckpoint, final_model: str | None) -> dict[str, Any]:
    return {"pin": pin, "step": chosen.step, "id": chosen.id, "final_model": final_model}


# -- models a replace superseded -----------------------------------------------------------------------------
def trained_of(entry: LockEntry) -> str | None:
    """The provider's model behind an entry's pin (not a deployment's or a checkpoint's name)."""
    return (entry.checkpoint or {}).get("final_model") or entry.trained_model or entry.model


def superseded(entry: LockEntry, new_model: str, now: str, new_trained: str | None = None) -> list[dict] | None:
    """The entry's superseded list once ``new_model`` is pinned: the model pinned until now joins it (newest
    last), unless it is the same model."""
    found = list(entry.superseded or ())
    old = trained_of(entry)
    if old and old not in (new_model, new_trained) and not any(s["model"] == old for s in found):
        record: dict[str, Any] = {"model": old, "job_id": (entry.job or {}).get("id"), "replaced_at": now}
        if entry.protect:
            record["protect"] = True
        found.append(record)
    return found or None


# -- experiment tracking -------------------------------------------------------------------------------------
def wandb_settings(integrations: tuple | list) -> dict[str, Any] | None:
    for item in integrations:
        if isinstance(item, dict) and item.get("type") == "wandb":
            return dict(item.get("wandb") or {})
    return None


def track(spec: Any, provider: Provider, job: RemoteJob, found: list[MetricRow] | None, inputs: dict[str, Any],
          project: str) -> list[str]:
    """After a job succeeded: a spec's W&B integration on a provider that does not pass it through natively is
    logged by ftops itself (config = the inputs, history = the metrics). Returns what to say; never fails."""
    from ftops import tracking

    settings = wandb_settings(spec.integrations)
    if settings is None or "wandb" in provider.capabilities.integrations:
        return []  # nothing asked, or the provider logs the run itself
    if not found:
        return [f"W&B: {label(provider)} gave no training metrics; nothing logged"]
    run = tracking.TrackedRun(spec=spec.name, job_id=job.id, provider=provider.name,
                              config={**tracking.flat_config(inputs), "ftops_project": project}, rows=found,
                              summary=summarize(found, job), settings=settings)
    try:
        return [f"logged {tracking.log('wandb', run)}"]
    except FtopsError as exc:
        hint = getattr(exc, "hint", None)
        return [f"not logged to W&B: {exc}" + (f" ({hint}; then `ftops results {spec.name} --to wandb`)"
                                                if hint else "")]
