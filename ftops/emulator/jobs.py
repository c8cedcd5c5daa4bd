"""Job lifecycle, derived from the emulator clock: validating -> queued -> running -> succeeded (the phases every
wire dialect renders in its own words: OpenAI's ``validating_files``, Together's ``pending``, ...).

A job stores when it was created, its duration, and its pauses; its phase is computed from those and ``now``.
:func:`sync` runs at the start of every request and records what the clock has made happen since the last
request (file validation, progress events, success with its model, checkpoints and result file), so nothing
depends on a background thread and a restarted emulator continues where the clock says the job is.
"""

from __future__ import annotations

from ftops.emulator import modeltable, training
from ftops.emulator.datasets import FileProblem
from ftops.emulator.filestore import add_file
from ftops.emulator.state import Tx, new_id
from ftops.emulator.validation import DELETED, Needs, file_ref

VALIDATED_AT, STARTED_AT = 0.15, 0.25  # fractions of the job's duration
TERMINAL = ("succeeded", "failed", "cancelled")
METRIC_EVENTS = 10


def elapsed(job: dict, now: float) -> float:
    """Unpaused emulator seconds since the job was created."""
    return (job["paused_at"] or now) - job["created"] - job["paused_total"]


def at(job: dict, fraction: float, now: float) -> float:
    """Emulator time at which the job reached ``fraction`` of its duration (pauses so far included)."""
    return min(now, job["created"] + job["paused_total"] + fraction * job["duration"])


def phase(job: dict, now: float) -> str:
    """validating | queued | running | paused | succeeded | failed | cancelled."""
    if job["final_status"]:
        return job["final_status"]
    if job["paused_at"] is not None:
        return "paused"
    e = elapsed(job, now) / job["duration"]
    return "validating" if e < VALIDATED_AT else "queued" if e < STARTED_AT else "running"


def training_progress(job: dict, now: float) -> float:
    """How much of the training itself is done, 0..1 (dialects show late phases such as writing results)."""
    e = elapsed(job, now) / job["duration"]
    return max(0.0, min(1.0, (e - STARTED_AT) / (1 - STARTED_AT)))


def event(tx: Tx, job: dict, when: float, message: str, *, level: str = "info", data: dict | None = None) -> None:
    job["events"].append({"id": new_id("ftevent-"), "created_at": int(when), "level": level, "message": message,
                          "type": "metrics" if data else "message", "data": data})
    tx.touch()


def create(tx: Tx, request: dict, *, planned_model: str, job_id: str | None = None, prefix: str = "ftjob-",
           extra: dict | None = None, min_examples: int = 10) -> dict:
    """A new job from a dialect's checked request (model, base, training_file, validation_file, suffix, seed,
    metadata, integrations, method in the emulator's form {type, <type>: {hyperparameters, ...}}).
    ``planned_model`` is the name its model gets on success; ``extra`` holds what only its dialect shows."""
    job_id = job_id or new_id(prefix)
    forced = tx.data["fail_next"].pop(0) if tx.data["fail_next"] else None
    job = {**request, "id": job_id, "seq": tx.next_seq(), "created": tx.now, "duration": tx.cfg.job_duration,
           "paused_total": 0.0, "paused_at": None, "final_status": None, "error": None, "finished_at": None,
           "fine_tuned_model": None, "trained_tokens": None, "result_files": [], "checkpoints": [], "events": [],
           "started": False, "metrics_emitted": 0, "n_examples": None, "tokens_per_epoch": None, "resolved": None,
           "steps": None, "forced_error": forced, "context": modeltable.lookup(tx, request["base"]).context,
           "planned_model": planned_model, "api": tx.cfg.api, "extra": dict(extra or {}),
           "min_examples": min_examples}
    tx.data["jobs"][job_id] = job
    event(tx, job, tx.now, f"Created fine-tuning job: {job_id}")
    needs = None if forced else needs_of(tx, job)
    if needs is not None:
        tx.store.validations.prefetch(needs)  # checked while the job waits for its validation time
    return job


def needs_of(tx: Tx, job: dict) -> Needs | None:
    """What validating ``job`` checks; None when one of its files is gone."""
    train = file_ref(tx, job["training_file"], "training_file")
    valid = file_ref(tx, job["validation_file"], "validation_file") if job["validation_file"] else None
    if train is None or (job["validation_file"] and valid is None):
        return None
    return Needs(train, valid, job["method"]["type"], modeltable.lookup(tx, job["base"]), job["context"])


def get(tx: Tx, job_id: str) -> dict | None:
    return tx.data["jobs"].get(job_id)


def cancel(tx: Tx, job: dict) -> None:
    unpause(job, tx.now)
    job["final_status"] = "cancelled"
    event(tx, job, tx.now, "Fine-tuning job cancelled")


def pause(tx: Tx, job: dict) -> None:
    job["paused_at"] = tx.now
    event(tx, job, tx.now, "Fine-tuning job paused")


def resume(tx: Tx, job: dict) -> None:
    unpause(job, tx.now)
    event(tx, job, tx.now, "Fine-tuning job resumed")


def reopen(tx: Tx, job: dict, stopped_at: float) -> None:
    """A failed or cancelled job runs again from where it stopped (a provider's resume): the time it was stopped
    does not count, and a failure it was forced into is not repeated."""
    job["paused_total"] += max(0.0, tx.now - stopped_at)
    job.update(final_status=None, error=None, finished_at=None, forced_error=None)
    event(tx, job, tx.now, "Fine-tuning job resumed")


def unpause(job: dict, now: float) -> None:
    """End a pause (if any): the paused time is added to the job's total, so its progress continues from there."""
    if job["paused_at"] is not None:
        job["paused_total"] += now - job["paused_at"]
        job["paused_at"] = None


def fail(tx: Tx, job: dict, when: float, error: dict) -> None:
    unpause(job, when)
    job.update(final_status="failed", error=error, finished_at=int(when))
    event(tx, job, when, f"Fine-tuning job failed: {error['message']}", level="error")


def sync(tx: Tx) -> None:
    for job in tx.data["jobs"].values():
        if not job["final_status"]:
            _advance(tx, job)


def _advance(tx: Tx, job: dict) -> None:
    progress = elapsed(job, tx.now) / job["duration"]
    if progress >= VALIDATED_AT and job["n_examples"] is None:
        _validate(tx, job, at(job, VALIDATED_AT, tx.now))
        if job["final_status"]:
            return
    if progress >= STARTED_AT and not job["started"]:
        job["started"] = True
        event(tx, job, at(job, STARTED_AT, tx.now), "Fine-tuning job started")
    if job["started"]:
        _emit_metrics(tx, job, min(1.0, (progress - STARTED_AT) / (1 - STARTED_AT)))
    if progress >= 1.0:
        _succeed(tx, job, at(job, 1.0, tx.now))


def _validate(tx: Tx, job: dict, when: float) -> None:
    event(tx, job, when, "Validating training file: " + job["training_file"])
    if job["forced_error"]:
        return fail(tx, job, when, job["forced_error"])
    needs = needs_of(tx, job)
    if needs is None:
        return fail(tx, job, when, {"code": "invalid_training_file", "param": "training_file", "message": DELETED})
    try:  # the result of a check run once per file, outside the lock (it raises Unvalidated until there is one)
        dataset = tx.store.validations.check(needs, job.get("min_examples", 10))
    except FileProblem as problem:
        return fail(tx, job, when, problem.error)
    job["n_examples"] = dataset.examples
    limit = job["context"]
    job["tokens_per_epoch"] = dataset.tokens
    over = dataset.over
    if over:
        event(tx, job, when, f"{over} example(s) over the {limit}-token limit of {job['base']} were truncated to "
                             f"{limit} tokens", level="warn")
    job["resolved"] = training.resolve(job["method"], job["n_examples"])
    job["steps"] = training.total_steps(job["n_examples"], job["resolved"])
    event(tx, job, when, "Files validated, moving job to queued state")


def _emit_metrics(tx: Tx, job: dict, fraction: float) -> None:
    count = min(METRIC_EVENTS, job["steps"])
    while job["metrics_emitted"] < int(fraction * count):
        job["metrics_emitted"] += 1
        step = max(1, round(job["steps"] * job["metrics_emitted"] / count))
        when = at(job, STARTED_AT + (1 - STARTED_AT) * job["metrics_emitted"] / count, tx.now)
        data = training.metrics(job["seed"], step, job["steps"], bool(job["validation_file"]))
        event(tx, job, when, f"Step {step}/{job['steps']}: training loss={data['train_loss']}", data=data)


def _succeed(tx: Tx, job: dict, when: float) -> None:
    name, steps, has_valid = job["planned_model"], job["steps"], bool(job["validation_file"])
    result = add_file(tx, "step_metrics.csv", "fine-tune-results", training.result_csv(job["seed"], steps, has_valid))
    for step in training.checkpoint_steps(steps):
        job["checkpoints"].append({
            "id": new_id("ftckpt_"), "object": "fine_tuning.job.checkpoint", "created_at": int(when),
            "fine_tuned_model_checkpoint": f"{name}:ckpt-step-{step}", "step_number": step,
            "metrics": training.metrics(job["seed"], step, steps, has_valid), "fine_tuning_job_id": job["id"]})
        event(tx, job, when, f"Checkpoint created at step {step}")
    modeltable.add_fine_tuned(tx, name, job["base"], job["id"], when)
    job.update(final_status="succeeded", finished_at=int(when), fine_tuned_model=name, result_files=[result["id"]],
               trained_tokens=job["tokens_per_epoch"] * job["resolved"]["n_epochs"])
    event(tx, job, when, f"New fine-tuned model created: {name}")
    event(tx, job, when, "The job has successfully completed")
