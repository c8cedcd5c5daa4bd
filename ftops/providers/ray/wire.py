"""Translation between ftops's neutral shapes and the Ray Jobs REST API (pure: no I/O).

A job is submitted as ``python ftops_ray_launch.py`` in the trainer package (``runtime_env.working_dir``), with
each dataset package in ``runtime_env.py_modules`` and what to run in the ``FTOPS_RUN`` environment variable. The
launch key travels twice: in the submission id (``ftops-<key id>-<attempt>``, which Ray refuses to reuse, so a
repeated submit cannot start a second job) and in the job's metadata, from which refresh reads it back.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ftops.launch import LaunchKey, key_id
from ftops.providers import base
from ftops.providers.answers import MalformedAnswer, mapping, num, obj, text
from ftops.providers.base import JobError, RemoteEvent, RemoteJob, TrainingRequest
from ftops.providers.http import traceback_summary
from ftops.providers.ray.settings import RaySettings, memory_bytes

LAUNCHER = "ftops_ray_launch.py"
TRL_SCRIPT = "ftops_trl.py"
ENTRYPOINT = f"python {LAUNCHER}"
# What the built-in trainer runs (the launcher fills in the placeholders); its config travels in FTOPS_RUN.
TRL_COMMAND = (f"python {TRL_SCRIPT} --train {{training_file}} --valid {{validation_file}} --out {{output_dir}} "
               "--base {base_model}")
TRL_PIP = ("trl==1.16.0", "peft==0.21.2")  # the versions ftops's TRL script was written against
STORE_PIP = {"s3": ("s3fs",), "gs": ("gcsfs",), "hf": ("huggingface_hub",)}  # the launcher copies the model there
METRICS_PREFIX = "FTOPS_METRICS "
DATA_FILE = "data.jsonl"  # the dataset's name inside its package (content-addressed: the same for every role)

META_PROJECT = "ftops_project"
META_SPEC = "ftops_spec"
META_FINGERPRINT = "ftops_fingerprint"
META_KEY = "ftops_launch_key"
META_ATTEMPT = "ftops_attempt"
META_ARTIFACT = "ftops_artifact"
META_BASE = "ftops_base_model"
META_METHOD = "ftops_method"
META_ADAPTER = "ftops_adapter"
META_TRAINER = "ftops_trainer"
META_HYPER = "ftops_hyperparameters"
META_SEED = "ftops_seed"
META_DATA = "ftops_data"

STATUS_MAP = {"PENDING": base.QUEUED, "RUNNING": base.RUNNING, "STOPPED": base.CANCELLED,
              "SUCCEEDED": base.SUCCEEDED, "FAILED": base.FAILED}
# Ray's own request fields that provider_options may pass through as they are (the neutral resource names are
# mapped below); everything else in a submit body is ftops's.
RESOURCE_WIRE = {"num_gpus": "entrypoint_num_gpus", "num_cpus": "entrypoint_num_cpus",
                 "memory": "entrypoint_memory", "resources": "entrypoint_resources"}
_SUBMISSION = re.compile(r"^ftops-([0-9a-f]{20})-([1-9][0-9]*)$")


def canonical_state(status: str | None) -> str:
    return STATUS_MAP.get(status or "", base.UNKNOWN)


def submission_id(key: LaunchKey, attempt: int) -> str:
    """``ftops-<launch key id>-<attempt>``: attempt 1 first; a new attempt only after the previous one FAILED or
    STOPPED (or its model is gone), because Ray refuses a submission id it has seen."""
    return f"ftops-{key.id}-{attempt}"


def attempt_of(job_id: str) -> int:
    match = _SUBMISSION.match(job_id)
    return int(match.group(2)) if match else 0


def artifact_uri(artifacts: str, key: LaunchKey) -> str:
    """Where the run for ``key`` writes its model: content-addressed by the launch key (and so the fingerprint)."""
    return f"{artifacts.rstrip('/')}/{key.project}/{key.spec}/{key.id}"


def package_name(uri: str) -> str:
    """``gcs://_ray_pkg_x.zip`` -> ``_ray_pkg_x.zip``."""
    return uri.split("://", 1)[-1]


def adapter_of(request: TrainingRequest, builtin: str | None = "trl") -> str | None:
    """lora | full: as the spec says; the built-in trainer trains a LoRA adapter unless told otherwise, a custom
    trainer does what it does (None: not known to ftops)."""
    return request.training_type or ("lora" if builtin == "trl" else None)


def trl_config(request: TrainingRequest) -> dict[str, Any]:
    """The TRL trainer, its arguments (SFTConfig / DPOConfig) and the LoRA config (peft.LoraConfig) that
    ftops_trl.py builds for ``request``: only what the spec declared, TRL's own defaults for the rest."""
    hyper = request.hyperparameters
    args: dict[str, Any] = {"logging_steps": 1, "save_strategy": "no", "report_to": "none",
                            "eval_strategy": "epoch" if request.validation_file else "no"}
    names = {"n_epochs": "num_train_epochs", "batch_size": "per_device_train_batch_size",
             "learning_rate": "learning_rate", "warmup_ratio": "warmup_ratio", "warmup_steps": "warmup_steps",
             "beta": "beta"}
    for neutral, wire in names.items():
        if neutral in hyper:
            args[wire] = hyper[neutral]
    if request.seed is not None:
        args["seed"] = request.seed
    peft = None
    if adapter_of(request) == "lora":
        peft = {"task_type": "CAUSAL_LM", "target_modules": "all-linear"}
        for neutral, wire in (("lora_rank", "r"), ("lora_alpha", "lora_alpha"), ("lora_dropout", "lora_dropout")):
            if neutral in hyper:
                peft[wire] = hyper[neutral]
    return {"trainer": "dpo" if request.method == "dpo" else "sft", "args": dict(sorted(args.items())),
            "peft": peft}


def _pip(settings: RaySettings, options: dict[str, Any]) -> list[str]:
    pip: list[str] = list(TRL_PIP) if settings.trainer.builtin == "trl" else []
    pip += STORE_PIP.get(settings.artifacts.split("://", 1)[0], ())
    pip += list(settings.pip) + [str(p) for p in options.get("pip") or ()]
    return list(dict.fromkeys(pip))


def job_body(request: TrainingRequest, settings: RaySettings, *, trainer_uri: str, job_id: str) -> dict[str, Any]:
    """``POST /api/jobs/`` for ``request``: the launcher in the trainer package, the datasets as packages, the
    run described in FTOPS_RUN, the launch key in the submission id and the metadata."""
    key = request.launch
    options = dict(request.options)
    output = artifact_uri(settings.artifacts, key)
    data = {"training_file": package_name(request.training_file),
            "validation_file": package_name(request.validation_file) if request.validation_file else None}
    run: dict[str, Any] = {
        "version": 1, "submission_id": job_id, "output": output, "base_model": request.base_model,
        "method": request.method, "training_type": adapter_of(request, settings.trainer.builtin),
        "seed": request.seed,
        "hyperparameters": dict(sorted(request.hyperparameters.items())), "data": data, "data_file": DATA_FILE,
        "metrics_prefix": METRICS_PREFIX,
        "command": TRL_COMMAND if settings.trainer.builtin == "trl" else settings.trainer.entrypoint,
    }
    if settings.trainer.builtin == "trl":
        run["trl"] = trl_config(request)
    env_vars = {**settings.env_vars, **{str(k): str(v) for k, v in (options.pop("env_vars", None) or {}).items()},
                "FTOPS_RUN": json.dumps(run, sort_keys=True, separators=(",", ":"))}
    runtime_env: dict[str, Any] = {"working_dir": trainer_uri,
                                   "py_modules": list(dict.fromkeys(
                                       u for u in (request.training_file, request.validation_file) if u)),
                                   "env_vars": env_vars}
    pip = _pip(settings, options)
    options.pop("pip", None)
    if pip:
        runtime_env["pip"] = pip
    metadata = {**request.metadata, META_PROJECT: key.project, META_SPEC: key.spec,
                META_FINGERPRINT: key.fingerprint, META_KEY: key.id, META_ATTEMPT: str(attempt_of(job_id)),
                META_ARTIFACT: output, META_BASE: request.base_model, META_METHOD: request.method,
                META_TRAINER: settings.trainer.label,
                META_HYPER: json.dumps(run["hyperparameters"], sort_keys=True, separators=(",", ":")),
                META_DATA: json.dumps({k: v for k, v in data.items() if v}, sort_keys=True, separators=(",", ":"))}
    adapter = adapter_of(request, settings.trainer.builtin)
    if adapter is not None:
        metadata[META_ADAPTER] = adapter
    if request.seed is not None:
        metadata[META_SEED] = str(request.seed)
    body: dict[str, Any] = {"entrypoint": ENTRYPOINT, "submission_id": job_id, "runtime_env": runtime_env,
                            "metadata": metadata}
    resources = {**settings.resources, **{k: options.pop(k) for k in list(options) if k in RESOURCE_WIRE}}
    for neutral, value in sorted(resources.items()):
        body[RESOURCE_WIRE[neutral]] = memory_bytes(value) if neutral == "memory" else value
    body.update(options)  # Ray's own fields, passed through (entrypoint_label_selector, ...)
    return body


def error_of(data: dict[str, Any]) -> JobError | None:
    """The driver's failure as one readable line: the exception a traceback ends with, else the message's last
    line; Ray's error type is the code."""
    status, message = text(data.get("status")), text(data.get("message")) or ""
    if status not in ("FAILED", "STOPPED"):
        return None
    lines = [line.strip() for line in message.splitlines()
             if line.strip() and not line.startswith("ftops: ")]  # the launcher's own notes
    summary = traceback_summary(message, whole=False)
    exit_code = num(data.get("driver_exit_code"))
    if summary is None and status == "FAILED" and len(lines) > 1:
        summary = lines[-1]
    head = lines[0] if lines else status.lower()
    if summary and exit_code is not None:
        shown = f"the trainer exited with code {exit_code}: {summary}"
    elif summary:
        shown = summary
    else:
        shown = head
    return JobError(code=text(data.get("error_type")), message=shown[:500])


def parse_job(data: Any, provider: str) -> RemoteJob:
    """A job from ``GET /api/jobs/{id}`` (or an item of the list). Times are Unix milliseconds."""
    data = obj(data, "a Ray job", provider)
    job_id = text(data.get("submission_id"))
    if not job_id:
        raise MalformedAnswer("unexpected answer: a Ray job has no submission_id", provider=provider)
    metadata = {str(k): v for k, v in mapping(data.get("metadata")).items() if isinstance(v, str)}
    status = text(data.get("status"))
    project, spec, fingerprint = (metadata.get(k) for k in (META_PROJECT, META_SPEC, META_FINGERPRINT))
    state = canonical_state(status)
    artifact = metadata.get(META_ARTIFACT)
    try:
        hyper = json.loads(metadata.get(META_HYPER) or "{}")
        files = json.loads(metadata.get(META_DATA) or "{}")
    except ValueError:
        hyper, files = {}, {}
    start, end = num(data.get("start_time")), num(data.get("end_time"))
    location = {"base_model": metadata.get(META_BASE), "adapter": metadata.get(META_ADAPTER),
                "trainer": metadata.get(META_TRAINER)}
    return RemoteJob(
        id=job_id, state=state, raw_status=str(status), model=metadata.get(META_BASE) or "",
        fine_tuned_model=artifact if state == base.SUCCEEDED and artifact else None,
        created_at=start // 1000 if start else None, finished_at=end // 1000 if end else None,
        error=error_of(data),
        launch_key=key_id(project, spec, fingerprint) if project and spec and fingerprint else None,
        spec=spec, fingerprint=fingerprint, metadata=metadata,
        hyperparameters=hyper if isinstance(hyper, dict) else {},
        training_file=_gcs(mapping(files).get("training_file")),
        validation_file=_gcs(mapping(files).get("validation_file")),
        seed=num(metadata.get(META_SEED)), method=metadata.get(META_METHOD),
        location={k: v for k, v in location.items() if v} if state == base.SUCCEEDED else {})


def _gcs(name: Any) -> str | None:
    return f"gcs://{name}" if isinstance(name, str) and name else None


def events_of(job_id: str, logs: str, created_at: int) -> list[RemoteEvent]:
    """The job's log as events, oldest first: each ``FTOPS_METRICS {json}`` line (printed by ftops's launcher
    from the trainer's metrics.jsonl) is a metrics event; every other line a message."""
    events = []
    for number, line in enumerate(logs.splitlines(), start=1):
        if not line.strip():
            continue
        data = None
        if line.startswith(METRICS_PREFIX):
            try:
                data = json.loads(line[len(METRICS_PREFIX):])
            except ValueError:
                data = None
        if isinstance(data, dict):
            events.append(RemoteEvent(id=f"{job_id}:{number}", created_at=_when(data, created_at), level="info",
                                      message=metrics_message(data), type="metrics", data=data))
        else:
            events.append(RemoteEvent(id=f"{job_id}:{number}", created_at=created_at, level="info",
                                      message=line.rstrip(), type="message"))
    return events


def _when(data: dict[str, Any], default: int) -> int:
    value = data.get("time")
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def metrics_message(data: dict[str, Any]) -> str:
    parts = [f"{label}={data[key]:.4g}" if isinstance(data[key], float) else f"{label}={data[key]}"
             for key, label in (("train_loss", "training loss"), ("valid_loss", "validation loss"))
             if data.get(key) is not None]
    step = data.get("step")
    return (f"Step {step}: " if step is not None else "") + (", ".join(parts) or json.dumps(data, sort_keys=True))
