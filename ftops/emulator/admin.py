"""The ``/_emulator`` admin endpoints (no auth, never faulted), the same for every dialect: clock, state dump,
faults, forced failures, model dates, a model made worse (``inference.degrade``). Bodies are JSON; a Content-Type header is not required."""

from __future__ import annotations

import datetime as dt

from ftops.emulator import inference, jobs, modeltable
from ftops.emulator.apierror import bad_request, not_found
from ftops.emulator.faults import Faults
from ftops.emulator.httpio import Request
from ftops.emulator.router import route
from ftops.emulator.state import Tx


def clock(tx: Tx, req: Request) -> dict:
    advance = req.json(required=False, lenient=True).get("advance", 0)
    if not isinstance(advance, (int, float)) or isinstance(advance, bool) or advance < 0:
        raise bad_request("'advance' must be a non-negative number of seconds.", param="advance")
    if advance:
        tx.data["clock_offset"] = float(tx.data["clock_offset"]) + advance
        tx.now += advance
        tx.touch()
        jobs.sync(tx)
    return {"now": int(tx.now)}


def core(tx: Tx) -> dict:
    """The same world in the emulator's own neutral terms, whatever dialect it speaks (for tests that check any
    provider type the same way): every job with its phase, every model and every file; and how many times this
    emulator process has read a file to validate it (once per file, whatever the number of jobs on it)."""
    return {
        "validations": {"files_read": tx.store.validations.scans},
        "jobs": [{"id": j["id"], "phase": jobs.phase(j, tx.now), "base": j["base"], "model": j["model"],
                  "fine_tuned_model": j["fine_tuned_model"], "suffix": j["suffix"], "seed": j["seed"],
                  "metadata": j["metadata"], "training_file": j["training_file"],
                  "validation_file": j["validation_file"], "created": j["created"], "extra": j.get("extra") or {}}
                 for j in sorted(tx.data["jobs"].values(), key=lambda j: j["seq"])],
        "models": sorted(tx.data["models"]),
        "files": [{"id": f["id"], "filename": f["filename"], "purpose": f["purpose"], "bytes": f["bytes"]}
                  for f in sorted(tx.data["files"].values(), key=lambda f: f["seq"])],
    }


def state(tx: Tx, req: Request) -> dict:
    from ftops.emulator.dialects import dialect

    return {"now": int(tx.now), "api": tx.cfg.api, **dialect(tx.cfg.api).state(tx), "core": core(tx),
            "model_overrides": tx.data["model_overrides"], "fail_next": tx.data["fail_next"]}


def _error(body: dict, default_code: str) -> dict:
    message = body.get("message") or "The job failed (forced by the ftops emulator)."
    return {"code": str(body.get("code") or default_code), "message": str(message), "param": body.get("param")}


def fail_job(tx: Tx, req: Request) -> dict:
    job = tx.data["jobs"].get(req.params["id"])
    if job is None:
        raise not_found(f"No job {req.params['id']!r}.", param="id")
    phase = jobs.phase(job, tx.now)
    if phase in jobs.TERMINAL:
        raise bad_request(f"Job {job['id']} is already {phase}.")
    from ftops.emulator.dialects import dialect

    jobs.fail(tx, job, tx.now, _error(req.json(required=False, lenient=True), "server_error"))
    return dialect(tx.cfg.api).job_view(tx, job)


def fail_next(tx: Tx, req: Request) -> dict:
    body = req.json(required=False, lenient=True)
    count = body.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise bad_request("'count' must be a non-negative integer.", param="count")
    tx.data["fail_next"].extend(_error(body, "invalid_training_file") for _ in range(count))
    tx.touch()
    return {"pending": len(tx.data["fail_next"])}


def set_model(tx: Tx, req: Request) -> dict:
    body = req.json(lenient=True)
    model_id, date = body.get("id"), body.get("shutdown_date")
    if not isinstance(model_id, str) or model_id not in modeltable.base_ids(tx.cfg.api):
        raise not_found(f"No base model {model_id!r} in the {tx.cfg.api} table.", param="id")
    if date is not None:
        try:
            dt.date.fromisoformat(str(date))
        except ValueError:
            raise bad_request("'shutdown_date' must be YYYY-MM-DD or null.", param="shutdown_date") from None
    tx.data["model_overrides"][modeltable.table(tx.cfg.api).lookup(model_id).name] = date
    tx.touch()
    return {"id": model_id, "shutdown_date": modeltable.shutdown_date(tx, model_id)}


def set_faults(faults: Faults, req: Request) -> dict:
    body = req.json(required=False, lenient=True)
    try:
        return faults.configure(body.get("rate", faults.rate), body.get("kinds"), body.get("seed", faults.seed))
    except (TypeError, ValueError) as exc:
        raise bad_request(str(exc)) from None


def rules(faults: Faults):
    return [
        route("GET", "/_emulator/clock", clock),
        route("POST", "/_emulator/clock", clock),
        route("GET", "/_emulator/state", state),
        route("GET", "/_emulator/faults", lambda tx, req: faults.describe()),
        route("POST", "/_emulator/faults", lambda tx, req: set_faults(faults, req)),
        route("POST", "/_emulator/jobs/<path:id>/fail", fail_job),  # ids may be resource names (a/b/c)
        route("POST", "/_emulator/models", set_model),
        route("POST", "/_emulator/fail-next", fail_next),
        route("DELETE", "/_emulator/models/<path:id>", delete_model),
        route("POST", "/_emulator/models/<path:id>/degrade", inference.degrade),  # a model made worse (evals)
        route("POST", "/_emulator/jobs/<path:id>/degrade", inference.degrade_job),
    ]


def delete_model(tx: Tx, req: Request) -> dict:
    """Remove a fine-tuned model as its owner could through any provider's console (drift, in tests)."""
    if req.params["id"] not in tx.data["models"]:
        raise not_found(f"No fine-tuned model {req.params['id']!r}.", param="id")
    del tx.data["models"][req.params["id"]]
    tx.touch()
    return {"id": req.params["id"], "deleted": True}
