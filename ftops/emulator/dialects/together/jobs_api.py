"""Together's fine-tunes endpoints: create, list, retrieve, cancel, delete, events, checkpoints, metrics and the
price estimate, over the emulator core's clock-driven lifecycle.

Statuses: validating -> ``pending``, queued -> ``queued``, running -> ``running``, then ``compressing`` and
``uploading`` over the last stretch of training (``jobs.training_progress``), succeeded -> ``completed``, failed ->
``error``; a cancel shows ``cancel_requested`` for ``CANCEL_SETTLE`` emulator seconds, then ``cancelled``.
On Together a fine-tune's model and its job are one: deleting the job deletes the model, and a model removed
otherwise (the admin API's DELETE /_emulator/models/{id}, as through the console) takes its job out of view.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ftops.emulator import jobs, modeltable
from ftops.emulator.datasets import FileProblem
from ftops.emulator.apierror import bad_request, not_found
from ftops.emulator.dialects.together import common, files, job_request
from ftops.emulator.httpio import Request
from ftops.emulator.state import Tx
from ftops.emulator.validation import Needs, file_ref

COMPRESSING_AT, UPLOADING_AT = 0.90, 0.95  # fractions of training done
CANCEL_SETTLE = 2.0  # emulator seconds between a cancel and ``cancelled``
TERMINAL = ("completed", "error", "cancelled")
_PHASES = {"validating": "pending", "queued": "queued", "paused": "queued", "succeeded": "completed",
           "failed": "error"}
# The core's event messages -> Together event types (by how the message starts), in lifecycle order.
_EVENT_TYPES = (("Created fine-tuning job", "job_pending"), ("Validating training file", "training_data_downloading"),
                ("Files validated", "training_data_download_complete"), ("Fine-tuning job started", "training_start"),
                ("Checkpoint created", "checkpoint_save"), ("New fine-tuned model created", "model_upload_complete"),
                ("The job has successfully completed", "job_complete"), ("Fine-tuning job failed", "job_error"),
                ("Fine-tuning job cancelled", "cancel_requested"))
_ORDER = ["job_pending", "training_data_downloading", "training_data_download_complete", "warning", "job_start",
          "training_start", "training_complete", "model_compressing", "model_compression_complete",
          "model_uploading", "checkpoint_save", "model_upload_complete", "job_complete", "cancel_requested",
          "job_stopped", "job_error"]


def status(tx: Tx, job: dict) -> str:
    phase = jobs.phase(job, tx.now)
    if phase == "cancelled":
        asked = job["extra"].get("cancel_requested_at")
        return "cancel_requested" if asked is not None and tx.now < asked + CANCEL_SETTLE else "cancelled"
    if phase == "running":
        done = jobs.training_progress(job, tx.now)
        return "uploading" if done >= UPLOADING_AT else "compressing" if done >= COMPRESSING_AT else "running"
    return _PHASES[phase]


def visible(tx: Tx, job: dict) -> bool:
    return not (job["final_status"] == "succeeded" and job["fine_tuned_model"] not in tx.data["models"])


def _at_progress(job: dict, fraction: float) -> float:
    return job["created"] + job["paused_total"] + (jobs.STARTED_AT + (1 - jobs.STARTED_AT) * fraction) \
        * job["duration"]


def _event(tx: Tx, job: dict, when: float, message: str, kind: str, *, level: str = "info", step: int = 0,
           checkpoint: str = "", model: str = "") -> dict:
    limits = common.limits(job["base"])
    return {"object": "fine-tune-event", "created_at": common.iso(when), "level": level, "message": message,
            "type": kind, "param_count": limits.params if limits else 0, "token_count": job["trained_tokens"] or 0,
            "total_steps": job["steps"] or 0, "wandb_url": "", "step": step, "checkpoint_path": checkpoint,
            "model_path": model, "training_offset": 0,
            "hash": hashlib.sha1(f"{job['id']}|{when}|{message}".encode()).hexdigest()[:16]}


def _timeline(tx: Tx, job: dict) -> list[tuple[float, dict]]:
    """(when, event) in Together's shape, oldest first (the core's step metrics are served by /metrics)."""
    out: list[tuple[float, dict]] = []
    name = job["planned_model"]
    for e in job["events"]:
        if e["type"] == "metrics":
            continue
        kind = next((t for prefix, t in _EVENT_TYPES if e["message"].startswith(prefix)), "warning")
        level = {"warn": "warning"}.get(e["level"], e["level"])
        step = int(e["message"].rsplit(" ", 1)[-1]) if kind == "checkpoint_save" else 0
        out.append((e["created_at"], _event(tx, job, e["created_at"], e["message"], kind, level=level, step=step,
                                            checkpoint=f"{name}:{step}" if step else "",
                                            model=name if kind == "model_upload_complete" else "")))
    ended_early = job["final_status"] in ("failed", "cancelled")
    if job["started"] and not ended_early:
        for fraction, kinds in ((COMPRESSING_AT, (("training_complete", "Training completed"),
                                                  ("model_compressing", "Compressing output model"))),
                                (UPLOADING_AT, (("model_compression_complete", "Model compression complete"),
                                                ("model_uploading", f"Uploading output model {name}")))):
            when = _at_progress(job, fraction)
            if when <= tx.now:
                out += [(when, _event(tx, job, when, message, kind)) for kind, message in kinds]
    asked = job["extra"].get("cancel_requested_at")
    if asked is not None and tx.now >= asked + CANCEL_SETTLE:
        out.append((asked + CANCEL_SETTLE, _event(tx, job, asked + CANCEL_SETTLE, "Fine-tuning job stopped",
                                                  "job_stopped")))
    out.sort(key=lambda pair: (int(pair[0]), _ORDER.index(pair[1]["type"]) if pair[1]["type"] in _ORDER else 0))
    return out


def events(tx: Tx, job: dict) -> list[dict]:
    return [event for _, event in _timeline(tx, job)]


def _updated_at(tx: Tx, job: dict) -> float:
    """When the job last changed: its newest event."""
    return max([job["created"]] + [when for when, _ in _timeline(tx, job)])


def view(tx: Tx, job: dict, *, full: bool = True) -> dict:
    """``FinetuneResponse`` (``full``: GET) or ``FinetuneResponseTruncated`` (create, list, cancel)."""
    resolved, extra = job["extra"]["resolved"], job["extra"]
    now_status = status(tx, job)
    limits = common.limits(job["base"])
    body: dict[str, Any] = {
        "id": job["id"], "status": now_status, "created_at": common.iso(job["created"]),
        "updated_at": common.iso(_updated_at(tx, job)), "user_id": f"user_{tx.cfg.org}",
        "owner_address": f"{tx.cfg.org}@emulator.invalid", "model": job["model"],
        "model_output_name": job["planned_model"], "training_file": job["training_file"],
        "n_epochs": resolved["n_epochs"], "n_evals": resolved["n_evals"], "n_checkpoints": resolved["n_checkpoints"],
        "batch_size": resolved["batch_size"], "learning_rate": resolved["learning_rate"],
        "lr_scheduler": resolved["lr_scheduler"], "warmup_ratio": resolved["warmup_ratio"],
        "max_grad_norm": resolved["max_grad_norm"], "weight_decay": resolved["weight_decay"],
        "packing": resolved["packing"], "random_seed": job["seed"],
        "training_method": resolved["training_method"], "training_type": resolved["training_type"],
    }
    request = extra["request"]
    for key in ("validation_file", "suffix", "max_seq_length", "wandb_project_name", "wandb_name",
                "from_checkpoint", "from_hf_model", "hf_model_revision"):
        value = job.get(key) if key in ("validation_file", "suffix") else request.get(key)
        if value not in (None, ""):
            body[key] = value
    if job["started"]:
        body["started_at"] = common.iso(jobs.at(job, jobs.STARTED_AT, tx.now))
    tokens = job["trained_tokens"] or ((job["tokens_per_epoch"] or 0) * resolved["n_epochs"]) or None
    if tokens:
        body["token_count"] = tokens
    in_flight = now_status not in TERMINAL
    left = max(0, int(jobs.at(job, 1.0, float("inf")) - tx.now)) if in_flight else 0
    body["progress"] = {"estimate_available": in_flight and job["final_status"] is None, "seconds_remaining": left}
    if not full:
        return body
    body.update({"job_id": job["id"], "events": events(tx, job), "train_on_inputs":
                 resolved["training_method"].get("train_on_inputs", "auto"), "queue_depth": 0,
                 "param_count": limits.params if limits else 0,
                 "epochs_completed": resolved["n_epochs"] if job["final_status"] == "succeeded" else 0,
                 "model_output_path": f"s3://together-emulator/finetune/{job['id']}/{job['planned_model']}"})
    if job["n_examples"] is not None:
        body["trainingfile_numlines"] = job["n_examples"]
    record = tx.data["files"].get(job["training_file"])
    if record is not None:
        body["trainingfile_size"] = record["bytes"]
    if request.get("wandb_project_name"):
        body["wandb_url"] = f"https://wandb.ai/{request.get('wandb_entity') or 'together'}/" \
                            f"{request['wandb_project_name']}"
    return body


def get_job(tx: Tx, job_id: str) -> dict:
    job = tx.data["jobs"].get(job_id)
    if job is None or job.get("api") != common.API or not visible(tx, job):
        raise not_found(f"Fine-tune job {job_id} not found.", param="id")
    return job


def create(tx: Tx, req: Request) -> dict:
    core, extra, name = job_request.normalize(tx, req.json())
    job = jobs.create(tx, core, planned_model=name, job_id=common.job_id(), extra=extra, min_examples=1)
    return view(tx, job, full=False)


def list_jobs(tx: Tx, req: Request) -> dict:
    shown = [j for j in tx.data["jobs"].values() if j.get("api") == common.API and visible(tx, j)]
    shown.sort(key=lambda j: j["seq"], reverse=True)
    return {"data": [view(tx, j, full=False) for j in shown]}


def retrieve(tx: Tx, req: Request) -> dict:
    return view(tx, get_job(tx, req.params["id"]))


def cancel(tx: Tx, req: Request) -> dict:
    job = get_job(tx, req.params["id"])
    now = status(tx, job)
    if now in TERMINAL or now == "cancel_requested":
        raise bad_request(f"Job {job['id']} is {now} and cannot be cancelled.", param="id")
    jobs.cancel(tx, job)
    job["extra"]["cancel_requested_at"] = tx.now
    tx.touch()
    return view(tx, job, full=False)


def delete(tx: Tx, req: Request) -> dict:
    """Delete a finished job and, with it, its model."""
    job = get_job(tx, req.params["id"])
    now = status(tx, job)
    if now not in TERMINAL:
        raise bad_request(f"Job {job['id']} is {now}; cancel it before deleting it.", param="id")
    del tx.data["jobs"][job["id"]]
    tx.data["models"].pop(job["fine_tuned_model"] or "", None)
    tx.touch()
    return {"message": f"fine-tune job {job['id']} deleted"}


def list_events(tx: Tx, req: Request) -> dict:
    return {"data": events(tx, get_job(tx, req.params["id"]))}


def checkpoints(tx: Tx, req: Request) -> dict:
    job = get_job(tx, req.params["id"])
    found = sorted(job["checkpoints"], key=lambda c: c["step_number"], reverse=True)
    last = found[0]["step_number"] if found else None
    return {"data": [{"step": c["step_number"], "created_at": common.iso(c["created_at"]),
                      "path": f"{job['planned_model']}:{c['step_number']}",
                      "checkpoint_type": "Final" if c["step_number"] == last else "Intermediate"}
                     for c in found]}


def _step_filter(req: Request, name: str) -> int | None:
    """A step bound from the JSON body (the spec) or the query string (as SDK 3.1.1 sends it)."""
    raw = req.arg(name)
    value: object = raw
    if raw is None:
        value = req.json(required=False, lenient=True).get(name)
    elif raw.lstrip("-").isdigit():
        value = int(raw)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise bad_request(f"'{name}' must be an integer.", param=name)
    return value


def metrics(tx: Tx, req: Request) -> dict:
    """The core's step metrics as Together's flat maps, chronological, optionally between two steps."""
    job = get_job(tx, req.params["id"])
    low, high = _step_filter(req, "global_step_from"), _step_filter(req, "global_step_to")
    rows = []
    lr = job["extra"]["resolved"]["learning_rate"]
    for e in job["events"]:
        data = e.get("data") or {}
        step = data.get("step")
        if e["type"] != "metrics" or step is None or (low is not None and step < low) \
                or (high is not None and step > high):
            continue
        row = {"train/loss": data["train_loss"], "train/learning_rate": lr, "train/global_step": step,
               "train/mean_token_accuracy": data["train_mean_token_accuracy"]}
        if "valid_loss" in data:
            row.update({"eval/loss": data["valid_loss"], "eval/mean_token_accuracy": data["valid_mean_token_accuracy"]})
        rows.append(row)
    return {"metrics": rows}


def estimate_price(tx: Tx, req: Request) -> dict:
    """The price of the job the body describes, from the emulator table's prices and the file's tokens."""
    body = req.json()
    train = body.get("training_file")
    if not isinstance(train, str) or not train:
        raise bad_request("Missing required parameter: 'training_file'.", param="training_file")
    record = tx.data["files"].get(train)
    if record is None or not files.visible(record):
        raise bad_request(f"File {train} does not exist.", param="training_file")
    model = body.get("model") or ""
    if not model and body.get("from_checkpoint"):
        model = common.resolve_base(tx, str(body["from_checkpoint"]).partition(":")[0]) or ""
    if common.limits(model) is None:
        raise bad_request(f"Model {model or '(none)'} is not supported for fine-tuning.", param="model")
    method: dict = body["training_method"] if isinstance(body.get("training_method"), dict) else {}
    kind = "dpo" if method.get("method") == "dpo" else "supervised"
    training_type: dict = body["training_type"] if isinstance(body.get("training_type"), dict) else {}
    epochs = body.get("n_epochs") or 1
    evals = body.get("n_evals") or 0
    if not isinstance(epochs, int) or not isinstance(evals, int):
        raise bad_request("'n_epochs' and 'n_evals' must be integers.", param="n_epochs")
    info = modeltable.table(common.API).lookup(model)
    counts = []
    for param, file_id in (("training_file", train), ("validation_file", body.get("validation_file"))):
        if not file_id:
            counts.append(0)
            continue
        ref = file_ref(tx, file_id, param)
        try:  # checked once per file, outside the lock (Unvalidated until then)
            found = tx.store.validations.summary(Needs(ref, None, kind, info, info.context), ref) if ref else None
        except FileProblem:
            found = None
        if found is None:
            return {"estimation_available": False,
                    "unavailable_reason": "train_file_invalid" if param == "training_file" else "eval_file_invalid"}
        counts.append(found.tokens)
    trained, evaluated = counts[0] * epochs, counts[1] * evals
    price = info.price(kind, {"Full": "full", "Lora": "lora"}.get(str(training_type.get("type"))))
    usd = round((trained + evaluated) * (price or 0.0) / 1_000_000, 6)
    return {"estimation_available": True, "estimated_total_price": usd, "allowed_to_proceed": True,
            "user_limit": 5000.0, "estimated_train_token_count": trained, "estimated_eval_token_count": evaluated}
