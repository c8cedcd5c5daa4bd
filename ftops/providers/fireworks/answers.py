"""Fireworks' answers -> ftops's canonical shapes: job states (``JOB_STATE_*``), jobs, models, deployed models.

Every state string is open: one ftops does not know maps to ``unknown`` (in flight: never finished, never a reason
to start another job). Unknown fields are ignored; an answer without its resource ``name`` is a MalformedAnswer.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ftops.providers import base
from ftops.providers.answers import ident, mapping, num, obj, text
from ftops.providers.base import Deployment, JobError, RemoteJob, RemoteModel
from ftops.providers.fireworks import DPO, WIRE, parse_attempt

# Every JOB_STATE_* of SDK 1.2.30 and docs v5.10.0 (DELETED, ARCHIVED), in exactly one canonical bucket.
STATES = {
    base.QUEUED: ("CREATING", "PENDING", "VALIDATING", "CREATING_INPUT_DATASET", "RE_QUEUEING", "IDLE"),
    base.RUNNING: ("RUNNING", "WRITING_RESULTS"),
    base.PAUSED: ("PAUSED",),
    base.CANCELLING: ("CANCELLING",),
    base.SUCCEEDED: ("COMPLETED", "EARLY_STOPPED"),
    base.FAILED: ("FAILED", "EXPIRED"),
    # A job being deleted (or archived) produces nothing more: it counts as cancelled, never as succeeded, so
    # the plan may train again (under the next attempt's id; a deleted id cannot be reused).
    base.CANCELLED: ("CANCELLED", "DELETING", "DELETING_CLEANING_UP", "DELETED", "ARCHIVED"),
    base.UNKNOWN: ("UNSPECIFIED",),
}
STATE_MAP = {raw: state for state, raws in STATES.items() for raw in raws}
# deployedModels' states: DEPLOYED is callable; UNDEPLOYING is going away (deploy again once it is gone).
DEPLOY_STATES = {"DEPLOYED": base.DEPLOYED, "DEPLOYING": base.DEPLOYING, "UPDATING": base.DEPLOYING,
                 "UNDEPLOYING": base.FAILED}
_REVERSE_WIRE = {wire: neutral for neutral, wire in WIRE.items()}


def canonical_state(raw: str | None) -> str:
    """``JOB_STATE_COMPLETED`` (or the older unprefixed ``COMPLETED``) -> ``succeeded``; anything else unknown."""
    return STATE_MAP.get((raw or "").removeprefix("JOB_STATE_"), base.UNKNOWN)


def timestamp(value: Any) -> int | None:
    """An RFC 3339 time (``2026-12-01T10:00:00.123Z``) as a unix timestamp; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return int(dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


def model_name(output_model: str | None, account: str) -> str | None:
    """A job's outputModel (an id, or already a resource name) as the model's resource name."""
    if not output_model:
        return None
    return output_model if output_model.startswith("accounts/") else f"accounts/{account}/models/{output_model}"


def parse_job(data: Any, provider: str, account: str) -> RemoteJob:
    """A supervised or DPO job. Its id is its resource name (``accounts/A/supervisedFineTuningJobs/ID``), which
    says where to find it again; the launch key is read back from the id ftops gave it."""
    data = obj(data, "a fine-tuning job", provider)
    name = ident(data, "a fine-tuning job", provider, key="name")
    config = mapping(data.get("trainingConfig")) if f"/{DPO}/" in name else data
    raw = text(data.get("state")) or "JOB_STATE_UNSPECIFIED"
    state = canonical_state(raw)
    status = mapping(data.get("status"))
    error = None
    if state in (base.FAILED, base.CANCELLED) and (status.get("message") or status.get("code") not in (None, "OK")):
        error = JobError(code=str(status["code"]) if status.get("code") is not None else None,
                         message=str(status.get("message") or status.get("code")))
    hyper = {_REVERSE_WIRE[k]: v for k, v in config.items() if k in _REVERSE_WIRE and v is not None}
    beta = mapping(mapping(data.get("lossConfig")).get("dpo")).get("beta")
    if beta is not None:
        hyper["beta"] = beta
    attempt = parse_attempt(name)
    return RemoteJob(
        id=name, state=state, raw_status=raw,
        model=str(config.get("baseModel") or config.get("warmStartFrom") or ""),
        fine_tuned_model=model_name(text(config.get("outputModel")), account) if state == base.SUCCEEDED else None,
        created_at=timestamp(data.get("createTime")), finished_at=timestamp(data.get("completedTime")),
        error=error, launch_key=attempt[0] if attempt else None, hyperparameters=hyper,
        training_file=text(data.get("dataset")), validation_file=text(data.get("evaluationDataset")),
        suffix=text(data.get("displayName")), method="dpo" if f"/{DPO}/" in name else "supervised")


def _date(value: Any) -> str | None:
    """google.type.Date ``{year, month, day}`` -> ``YYYY-MM-DD`` (only a full date)."""
    value = mapping(value)
    year, month, day = (num(value.get(k)) for k in ("year", "month", "day"))
    if not (year and month and day):
        return None
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def parse_model(data: Any, provider: str) -> RemoteModel:
    data = obj(data, "a model", provider)
    name = ident(data, "a model", provider, key="name")
    owner = name.split("/")[1] if name.startswith("accounts/") and name.count("/") >= 3 else None
    return RemoteModel(id=name, owned_by=owner, created=timestamp(data.get("createTime")),
                       shutdown_date=_date(data.get("deprecationDate")))


def parse_deployment(data: Any, provider: str, model: str, deployment: str) -> Deployment:
    """A deployed model: callable as ``<model>#<deployment>`` once DEPLOYED."""
    data = obj(data, "a deployed model", provider)
    raw = text(data.get("state")) or "STATE_UNSPECIFIED"
    message = text(mapping(data.get("status")).get("message")) or None
    if raw == "UNDEPLOYING":
        message = message or "it is being unloaded from the deployment"
    return Deployment(id=ident(data, "a deployed model", provider, key="name"), model=f"{model}#{deployment}",
                      state=DEPLOY_STATES.get(raw, base.UNKNOWN), raw_status=raw, message=message)
