"""OpenAI's fine-tuning jobs endpoints: create, list, retrieve, cancel, pause, resume, events, checkpoints."""

from __future__ import annotations

import secrets
import string

from ftops.emulator import jobs
from ftops.emulator.apierror import bad_request, not_found
from ftops.emulator.dialects.openai import job_request
from ftops.emulator.dialects.openai.paging import page
from ftops.emulator.httpio import Request
from ftops.emulator.state import Tx

STATUS = {"validating": "validating_files"}  # the core's phase -> OpenAI's status, where they differ


def status(job: dict, now: float) -> str:
    phase = jobs.phase(job, now)
    return STATUS.get(phase, phase)


def model_name(tx: Tx, base: str, suffix: str | None) -> str:
    tail = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(8))
    return f"ft:{base}:{tx.cfg.org}:{suffix or ''}:{tail}"


def view(tx: Tx, job: dict) -> dict:
    status_now = status(job, tx.now)
    kind = job["method"]["type"]
    method = {"type": kind, kind: dict(job["method"][kind])}
    hyper = job["resolved"] or {"batch_size": "auto", "learning_rate_multiplier": "auto", "n_epochs": "auto",
                                **method[kind]["hyperparameters"]}
    method[kind]["hyperparameters"] = hyper
    running = status_now in ("validating_files", "queued", "running")
    body = {
        "id": job["id"], "object": "fine_tuning.job", "created_at": int(job["created"]), "error": job["error"],
        "fine_tuned_model": job["fine_tuned_model"], "finished_at": job["finished_at"],
        "model": job["model"], "organization_id": tx.cfg.org, "result_files": job["result_files"],
        "status": status_now, "trained_tokens": job["trained_tokens"], "training_file": job["training_file"],
        "validation_file": job["validation_file"], "integrations": job["integrations"], "seed": job["seed"],
        "estimated_finish": int(jobs.at(job, 1.0, float("inf"))) if running else None,
        "method": method, "metadata": job["metadata"], "user_provided_suffix": job["suffix"],
        # Required by the published FineTuningJob schema for every job (its description says "only returned for
        # supervised jobs"; the schema wins): the settings every method shares; the method's own are under method.
        "hyperparameters": {k: hyper[k] for k in ("batch_size", "learning_rate_multiplier", "n_epochs")},
    }
    return body


def get_job(tx: Tx, job_id: str) -> dict:
    job = tx.data["jobs"].get(job_id)
    if job is None:
        raise not_found(f"Could not find fine-tuning job: {job_id}", param="fine_tuning_job_id",
                        code="fine_tuning_job_not_found")
    return job


def create(tx: Tx, req: Request) -> dict:
    spec = job_request.normalize(tx, req.json())
    job = jobs.create(tx, spec, planned_model=model_name(tx, spec["base"], spec["suffix"]))
    return view(tx, job)


def _matches(job: dict, wanted: dict[str, str], want_no_metadata: bool) -> bool:
    if want_no_metadata:
        return not job["metadata"]
    metadata = job["metadata"] or {}
    return all(metadata.get(k) == v for k, v in wanted.items())


def list_jobs(tx: Tx, req: Request) -> dict:
    wanted = {k[len("metadata["):-1]: v[-1] for k, v in req.query.items()
              if k.startswith("metadata[") and k.endswith("]")}
    no_metadata = req.arg("metadata") == "null"
    selected = [j for j in tx.data["jobs"].values() if _matches(j, wanted, no_metadata)]
    selected.sort(key=lambda j: j["seq"], reverse=True)
    return page([view(tx, j) for j in selected], req, default_limit=20)


def retrieve(tx: Tx, req: Request) -> dict:
    return view(tx, get_job(tx, req.params["id"]))


def cancel(tx: Tx, req: Request) -> dict:
    job = get_job(tx, req.params["id"])
    now = status(job, tx.now)
    if now in jobs.TERMINAL:
        raise bad_request(f"Job {job['id']} has already {now} and cannot be cancelled.", param="fine_tuning_job_id")
    jobs.cancel(tx, job)
    return view(tx, job)


def _job_in_state(tx: Tx, req: Request, wanted: str, verb: str) -> dict:
    job = get_job(tx, req.params["id"])
    now = status(job, tx.now)
    if now != wanted:
        raise bad_request(f"Job {job['id']} is {now}; only a {wanted} job can be {verb}.",
                          param="fine_tuning_job_id")
    return job


def pause(tx: Tx, req: Request) -> dict:
    job = _job_in_state(tx, req, "running", "paused")
    jobs.pause(tx, job)
    return view(tx, job)


def resume(tx: Tx, req: Request) -> dict:
    job = _job_in_state(tx, req, "paused", "resumed")
    jobs.resume(tx, job)
    return view(tx, job)


def events(tx: Tx, req: Request) -> dict:
    job = get_job(tx, req.params["id"])
    items = [{"object": "fine_tuning.job.event", **{k: v for k, v in e.items() if v is not None}}
             for e in reversed(job["events"])]
    return page(items, req, default_limit=20)


def checkpoints(tx: Tx, req: Request) -> dict:
    job = get_job(tx, req.params["id"])
    return page(list(reversed(job["checkpoints"])), req, default_limit=10, ids=True)
