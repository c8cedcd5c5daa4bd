"""The ``/_emulator`` admin endpoints (no auth, never faulted): clock, state dump, faults, forced failures."""

from __future__ import annotations

import datetime as dt

from ftops.emulator import catalog
from ftops.emulator import files, jobs, jobs_api, models, uploads
from ftops.emulator.apierror import bad_request, not_found
from ftops.emulator.faults import Faults
from ftops.emulator.httpio import Request
from ftops.emulator.state import Tx


def clock(tx: Tx, req: Request) -> dict:
    advance = req.json(required=False).get("advance", 0)
    if not isinstance(advance, (int, float)) or isinstance(advance, bool) or advance < 0:
        raise bad_request("'advance' must be a non-negative number of seconds.", param="advance")
    if advance:
        tx.data["clock_offset"] = float(tx.data["clock_offset"]) + advance
        tx.now += advance
        tx.touch()
        jobs.sync(tx)
    return {"now": int(tx.now)}


def state(tx: Tx, req: Request) -> dict:
    return {
        "now": int(tx.now),
        "files": [files.view(r) for r in sorted(tx.data["files"].values(), key=lambda r: r["seq"])],
        "uploads": [uploads.view(tx, r) for r in tx.data["uploads"].values()],
        "jobs": [jobs_api.view(tx, j) for j in sorted(tx.data["jobs"].values(), key=lambda j: j["seq"])],
        "models": [m for m in models.list_models(tx, req)["data"] if m["id"].startswith("ft:")],
        "model_overrides": tx.data["model_overrides"],
        "fail_next": tx.data["fail_next"],
    }


def _error(body: dict, default_code: str) -> dict:
    message = body.get("message") or "The job failed (forced by the ftops emulator)."
    return {"code": str(body.get("code") or default_code), "message": str(message), "param": body.get("param")}


def fail_job(tx: Tx, req: Request) -> dict:
    job = jobs_api.get_job(tx, req.params["id"])
    status = jobs.status(job, tx.now)
    if status in jobs.TERMINAL:
        raise bad_request(f"Job {job['id']} is already {status}.")
    jobs.fail(tx, job, tx.now, _error(req.json(required=False), "server_error"))
    return jobs_api.view(tx, job)


def fail_next(tx: Tx, req: Request) -> dict:
    body = req.json(required=False)
    count = body.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise bad_request("'count' must be a non-negative integer.", param="count")
    tx.data["fail_next"].extend(_error(body, "invalid_training_file") for _ in range(count))
    tx.touch()
    return {"pending": len(tx.data["fail_next"])}


def set_model(tx: Tx, req: Request) -> dict:
    body = req.json()
    model_id, date = body.get("id"), body.get("shutdown_date")
    if not isinstance(model_id, str) or model_id not in models.base_ids():
        raise not_found(f"No base model {model_id!r} in the catalog.", param="id")
    if date is not None:
        try:
            dt.date.fromisoformat(str(date))
        except ValueError:
            raise bad_request("'shutdown_date' must be YYYY-MM-DD or null.", param="shutdown_date") from None
    tx.data["model_overrides"][catalog.lookup(model_id).name] = date
    tx.touch()
    return models.find(tx, model_id)


def set_faults(faults: Faults, req: Request) -> dict:
    body = req.json(required=False)
    try:
        return faults.configure(body.get("rate", faults.rate), body.get("kinds"), body.get("seed", faults.seed))
    except (TypeError, ValueError) as exc:
        raise bad_request(str(exc)) from None
