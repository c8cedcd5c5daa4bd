"""Fireworks fine-tuning jobs: ``supervisedFineTuningJobs`` (settings at the top level) and ``dpoJobs``
(settings under ``trainingConfig``, the loss under ``lossConfig``). Ids are the client's (``...JobId`` in the
query; a used id, even a deleted job's, is 409 ALREADY_EXISTS); get, list, ``:cancel``, ``:resume`` (a paused,
failed or cancelled job continues where it stopped), delete.

The lifecycle is the emulator core's (``ftops.emulator.jobs``) rendered as ``JOB_STATE_*``: CREATING,
VALIDATING, PENDING, RUNNING, WRITING_RESULTS near the end, then COMPLETED, FAILED or CANCELLED.
"""

from __future__ import annotations

import hashlib
import uuid

from ftops.emulator import jobs, modeltable
from ftops.emulator.dialects.fireworks.wire import (body, check_body, check_id, error, invalid, not_found, page,
                                                    records, rfc3339)
from ftops.emulator.httpio import Request
from ftops.emulator.state import Tx

SFT, DPO = "supervisedFineTuningJobs", "dpoJobs"
ID_PARAM = {SFT: "supervisedFineTuningJobId", DPO: "dpoJobId"}
CREATING_UNTIL, WRITING_FROM = 0.05, 0.9  # of the job's duration / of its training
PHASES = {"validating": "JOB_STATE_VALIDATING", "queued": "JOB_STATE_PENDING", "running": "JOB_STATE_RUNNING",
          "paused": "JOB_STATE_PAUSED", "succeeded": "JOB_STATE_COMPLETED", "failed": "JOB_STATE_FAILED",
          "cancelled": "JOB_STATE_CANCELLED"}
LORA_RANKS = (1, 2, 4, 8, 16, 32)
WANDB = {"apiKey": "string", "enabled": "bool", "entity": "string", "project": "string", "runId": "string"}
S3 = {"credentialsSecret": "string", "iamRoleArn": "string"}
AZURE = {"credentialsSecret": "string", "managedIdentityClientId": "string", "tenantId": "string"}
LR_SCHEDULER = {"constant": "object", "linear": {"minLrRatio": "number", "decayRatio": "number"},
                "cosine": {"minLrRatio": "number", "decayRatio": "number"}}
TRAINING = {  # what SFT takes at its top level and DPO under trainingConfig (SDK 1.2.30 TrainingConfig)
    "baseModel": "string", "warmStartFrom": "string", "outputModel": "string", "epochs": "int",
    "learningRate": "number", "learningRateWarmupSteps": "int", "loraRank": "int", "maxContextLength": "int",
    "batchSize": "int", "batchSizeSamples": "int", "gradientAccumulationSteps": "int",
    "optimizerWeightDecay": "number", "jinjaTemplate": "string", "region": "string",
    "samplerCheckpointSaveIntervalSteps": "int"}
SFT_FIELDS = {**TRAINING, "dataset": "string", "awsS3Config": S3, "azureBlobStorageConfig": AZURE,
              "displayName": "string", "earlyStop": "bool", "evalAutoCarveout": "bool",
              "evaluationDataset": "string", "isTurbo": "bool", "metricsFileSignedUrl": "string",
              "mtpEnabled": "bool", "mtpFreezeBaseModel": "bool", "mtpNumDraftTokens": "int", "nodes": "int",
              "rendererHuggingFaceRepoId": "string", "usePurpose": "string", "reservationTarget": "string",
              "useReservation": "bool", "wandbConfig": WANDB, "lrScheduler": LR_SCHEDULER, "purpose": "string"}
LOSS = {"method": ("METHOD_UNSPECIFIED", "GRPO", "DAPO", "DPO", "ORPO", "GSPO_TOKEN"), "klBeta": "number",
        "dpo": {"beta": "number", "refCacheConcurrency": "int", "refCacheBatchSize": "int"}}
DPO_FIELDS = {"dataset": "string", "awsS3Config": S3, "azureBlobStorageConfig": AZURE, "displayName": "string",
              "lossConfig": LOSS, "rendererHuggingFaceRepoId": "string", "reservationTarget": "string",
              "trainingConfig": TRAINING, "useReservation": "bool", "wandbConfig": WANDB}
DEFAULTS = {SFT: {"epochs": 1, "loraRank": 8, "learningRate": 0.0001, "batchSizeSamples": 32,
                  "learningRateWarmupSteps": 0, "maxContextLength": 32768},
            DPO: {"epochs": 1, "loraRank": 8, "learningRate": 0.00001, "batchSizeSamples": 4,
                  "learningRateWarmupSteps": 0, "maxContextLength": 32768}}


def state(job: dict, now: float) -> str:
    phase = jobs.phase(job, now)
    if phase == "validating" and jobs.elapsed(job, now) < CREATING_UNTIL * job["duration"]:
        return "JOB_STATE_CREATING"
    if phase == "running" and jobs.training_progress(job, now) >= WRITING_FROM:
        return "JOB_STATE_WRITING_RESULTS"
    return PHASES[phase]


def _status(job: dict, raw: str) -> dict:
    err = job["error"]
    if raw == "JOB_STATE_FAILED" and err:
        code = str(err.get("code") or "")
        name = code.upper() if code.upper() in ("INVALID_ARGUMENT", "FAILED_PRECONDITION", "INTERNAL",
                                                "RESOURCE_EXHAUSTED", "NOT_FOUND") else \
            "INVALID_ARGUMENT" if code.startswith("invalid") else "INTERNAL" if code == "server_error" else \
            "FAILED_PRECONDITION"
        return {"code": name, "message": err["message"]}
    if raw == "JOB_STATE_CANCELLED":
        return {"code": "CANCELLED", "message": "The job was cancelled."}
    return {"code": "OK", "message": ""}


def _cost(tx: Tx, job: dict) -> dict | None:
    if job["tokens_per_epoch"] is None:
        return None
    info = modeltable.lookup(tx, job["base"])
    usd = job["tokens_per_epoch"] * job["extra"]["config"]["epochs"] * (
        info.price(job["method"]["type"]) or 0) / 1_000_000
    units = int(usd)
    return {"currencyCode": "USD", "units": str(units), "nanos": int(round((usd - units) * 1e9))}


def view(tx: Tx, job: dict) -> dict:
    extra = job["extra"]
    raw = state(job, tx.now)
    request = {k: v for k, v in extra["request"].items() if k not in ("trainingConfig", "wandbConfig")}
    out = {**request, "name": job["id"], "displayName": extra["request"].get("displayName") or job["id"].rsplit(
        "/", 1)[-1], "createTime": rfc3339(job["created"]), "updateTime": rfc3339(tx.now), "state": raw,
        "status": _status(job, raw), "createdBy": "ftops-emulator@example.invalid",
        "jobProgress": {"percent": int(100 * jobs.training_progress(job, tx.now)), "epoch": 0}}
    if job["final_status"]:
        out["completedTime"] = rfc3339(job["finished_at"] or extra.get("stopped_at") or tx.now)
    wandb = extra["request"].get("wandbConfig")
    if wandb:
        out["wandbConfig"] = {k: v for k, v in wandb.items() if k != "apiKey"}
    cost = _cost(tx, job)
    if cost:
        out["estimatedCost"] = cost
    if extra["collection"] == DPO:
        out["trainingConfig"] = dict(extra["config"])
        out["lossConfig"] = extra["loss"]
    else:
        out.update(extra["config"])
    return out


def _dataset(tx: Tx, acct: str, name, field: str) -> dict:
    if not isinstance(name, str) or not name.startswith(f"accounts/{acct}/datasets/"):
        raise invalid(f"{field} must be a dataset of this account (accounts/{acct}/datasets/ID), got {name!r}")
    record = records(tx)["datasets"].get(name)
    if record is None:
        raise not_found("Dataset", name)
    if record["state"] != "READY":
        raise error("FAILED_PRECONDITION", f"Dataset {name!r} is {record['state']}, not READY: upload its file and "
                                           "call :validateUpload first")
    return record


def _model(tx: Tx, acct: str, config: dict, method: str, where: str) -> tuple[str, str]:
    """(the model as sent, the base model it comes down to)."""
    base_model, warm = config.get("baseModel"), config.get("warmStartFrom")
    if bool(base_model) == bool(warm):
        raise invalid(f"exactly one of {where}baseModel and {where}warmStartFrom must be set")
    sent = str(base_model or warm)
    if warm:
        record = tx.data["models"].get(warm)
        if record is None or not warm.startswith(f"accounts/{acct}/models/"):
            raise not_found("Model", warm)
        base = record["base"]
    else:
        info = modeltable.table(tx.cfg.api).lookup(sent)
        if not info.known:
            raise not_found("Model", sent)
        base = info.name
    if method not in modeltable.table(tx.cfg.api).lookup(base).methods:
        raise invalid(f"Model {base} does not support {'DPO' if method == 'dpo' else 'supervised'} fine-tuning")
    return sent, base


def _check_training(config: dict, where: str) -> None:
    for field in ("batchSize", "gradientAccumulationSteps"):
        if config.get(field):
            raise invalid(f"{where}{field} is deprecated and rejected by Training V2; use {where}batchSizeSamples")
    if config.get("jinjaTemplate"):
        raise invalid(f"{where}jinjaTemplate is no longer supported")
    rank = config.get("loraRank")
    if rank is not None and rank not in LORA_RANKS:
        raise invalid(f"{where}loraRank must be a power of 2 up to 32, got {rank}")
    for field, low in (("epochs", 1), ("batchSizeSamples", 1), ("maxContextLength", 1),
                       ("learningRateWarmupSteps", 0)):
        if config.get(field) is not None and config[field] < low:
            raise invalid(f"{where}{field} must be at least {low}, got {config[field]}")
    if config.get("learningRate") is not None and config["learningRate"] <= 0:
        raise invalid(f"{where}learningRate must be positive, got {config['learningRate']}")


def _job_name(tx: Tx, req: Request, collection: str) -> str:
    raw = req.arg(ID_PARAM[collection])
    job_id = check_id(raw, ID_PARAM[collection]) if raw is not None else str(uuid.uuid4())
    name = f"accounts/{req.params['acct']}/{collection}/{job_id}"
    if name in tx.data["jobs"]:
        raise error("ALREADY_EXISTS", f"{collection[:-1]} {name!r} already exists")
    if name in records(tx)["taken"]:
        raise error("ALREADY_EXISTS", f"{collection[:-1]} {name!r} was deleted; its id cannot be used again")
    return name


def _output_model(tx: Tx, acct: str, config: dict, name: str) -> str:
    output = config.get("outputModel") or name.rsplit("/", 1)[-1]
    output_id = output.rsplit("/", 1)[-1] if output.startswith(f"accounts/{acct}/models/") else output
    check_id(output_id, "outputModel")
    model = f"accounts/{acct}/models/{output_id}"
    busy = any(j["planned_model"] == model and not j["final_status"] for j in tx.data["jobs"].values())
    if model in tx.data["models"] or busy:
        raise error("ALREADY_EXISTS", f"Model {model!r} already exists (or a running job will create it)")
    return model


def _seed(name: str) -> int:
    return int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)


def create(tx: Tx, req: Request, collection: str) -> dict:
    acct = req.params["acct"]
    data = body(req)
    wrapper = "supervisedFineTuningJob" if collection == SFT else "dpoJob"
    if set(data) == {wrapper}:  # the REST docs' wrapped form; the SDK sends the fields flat
        data = data[wrapper]
    check_body(data, SFT_FIELDS if collection == SFT else DPO_FIELDS)
    name = _job_name(tx, req, collection)
    method = "supervised" if collection == SFT else "dpo"
    if collection == DPO:
        config, where = data.get("trainingConfig") or {}, "trainingConfig."
        loss = data.get("lossConfig") or {"method": "DPO"}
        if loss.get("method", "DPO") not in ("DPO", "ORPO"):
            raise invalid(f"a DPO job's lossConfig.method is DPO or ORPO, got {loss.get('method')}")
        beta = (loss.get("dpo") or {}).get("beta")
        if beta is not None and not 0 < beta < 0.5:
            raise invalid(f"lossConfig.dpo.beta must be > 0 and < 0.5, got {beta}")
        loss = {"method": loss.get("method", "DPO"), **loss, "dpo": {"beta": 0.1, **(loss.get("dpo") or {})}}
    else:
        config, where, loss = {k: v for k, v in data.items() if k in TRAINING}, "", None
    if not data.get("dataset"):
        raise invalid("dataset is required")
    train = _dataset(tx, acct, data["dataset"], "dataset")
    valid = _dataset(tx, acct, data["evaluationDataset"], "evaluationDataset") \
        if data.get("evaluationDataset") else None
    model, base = _model(tx, acct, config, method, where)
    _check_training(config, where)
    planned = _output_model(tx, acct, config, name)
    resolved = {**DEFAULTS[collection], **{k: v for k, v in config.items() if v is not None}}
    resolved["outputModel"] = config.get("outputModel") or planned.rsplit("/", 1)[-1]
    core = {"model": model, "base": base, "training_file": train["file"], "validation_file": valid["file"]
            if valid else None, "suffix": None, "seed": _seed(name), "metadata": None, "integrations": None,
            "method": {"type": method, method: {"hyperparameters": {
                "n_epochs": resolved["epochs"], "batch_size": resolved["batchSizeSamples"]}}}}
    extra = {"collection": collection, "account": acct, "request": data, "config": resolved, "loss": loss,
             "dataset": train["name"], "stopped_at": None}
    job = jobs.create(tx, core, planned_model=planned, job_id=name, extra=extra, min_examples=3)
    return view(tx, job)


def get_job(tx: Tx, req: Request, collection: str) -> dict:
    name = f"accounts/{req.params['acct']}/{collection}/{req.params['id']}"
    job = tx.data["jobs"].get(name)
    if job is None or job["extra"].get("collection") != collection:
        raise not_found(collection[:-1], name)
    return job


def retrieve(tx: Tx, req: Request, collection: str) -> dict:
    return view(tx, get_job(tx, req, collection))


def list_jobs(tx: Tx, req: Request, collection: str) -> dict:
    prefix = f"accounts/{req.params['acct']}/{collection}/"
    views = [view(tx, j) for n, j in tx.data["jobs"].items() if n.startswith(prefix)]
    return page(req, collection, views, filterable=("state", "displayName"))


def cancel(tx: Tx, req: Request, collection: str) -> dict:
    job = get_job(tx, req, collection)
    check_body(body(req), {})
    if job["final_status"]:
        raise error("FAILED_PRECONDITION", f"Job {job['id']!r} is {state(job, tx.now)} and cannot be cancelled")
    job["extra"]["stopped_at"] = tx.now
    jobs.cancel(tx, job)
    return {}


def resume(tx: Tx, req: Request, collection: str) -> dict:
    job = get_job(tx, req, collection)
    check_body(body(req), {})
    phase = jobs.phase(job, tx.now)
    if phase == "paused":
        jobs.resume(tx, job)
    elif phase in ("failed", "cancelled"):
        jobs.reopen(tx, job, job["extra"].get("stopped_at") or job["finished_at"] or tx.now)
        job["extra"]["stopped_at"] = None
    else:
        raise error("FAILED_PRECONDITION", f"Job {job['id']!r} is {state(job, tx.now)}; only a paused, failed or "
                                           "cancelled job can be resumed")
    return view(tx, job)


def delete(tx: Tx, req: Request, collection: str) -> dict:
    job = get_job(tx, req, collection)
    if not job["final_status"]:
        job["extra"]["stopped_at"] = tx.now
        jobs.cancel(tx, job)
    del tx.data["jobs"][job["id"]]
    records(tx)["taken"].append(job["id"])
    tx.touch()
    return {}

