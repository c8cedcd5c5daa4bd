"""A ``ray`` provider's ftops.yaml block, read into settings (pure: no I/O), and the problems the schema cannot
express (placeholders, a working_dir that leaves the project, an artifacts URI of the wrong shape)."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

PLACEHOLDERS = ("training_file", "validation_file", "output_dir", "base_model", "hyperparameters_json")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
SCHEMES = ("s3://", "gs://", "hf://", "file:///")
RESOURCE_KEYS = ("num_gpus", "num_cpus", "memory", "resources")
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


@dataclass(frozen=True)
class Trainer:
    """``trl`` (built in) or a custom command with placeholders, run in ``working_dir`` (project-relative)."""

    builtin: str | None  # "trl", or None for a custom command
    entrypoint: str | None = None
    working_dir: str | None = None

    @property
    def label(self) -> str:
        return self.builtin or "custom"


@dataclass(frozen=True)
class RaySettings:
    address: str
    artifacts: str  # no trailing slash
    trainer: Trainer
    resources: dict[str, Any] = field(default_factory=dict)  # num_gpus, num_cpus, memory (bytes), resources
    pip: tuple[str, ...] = ()
    env_vars: dict[str, str] = field(default_factory=dict)
    gpu_hour_usd: float | None = None
    tokens_per_gpu_hour: float | None = None
    serve: Serve | None = None  # an OpenAI-compatible server of the trained models (evals)


@dataclass(frozen=True)
class Serve:
    """``serve: {url, api_key_env?, model?}``: where the cluster's models answer (vLLM's OpenAI-compatible server,
    say), the key it takes, and the name a pinned model is called by there (``{model}``: the pinned artifact URI,
    ``{name}``: its last path segment, as ``vllm serve --lora-modules NAME=PATH`` names an adapter)."""

    url: str
    api_key_env: str | None = None
    model: str = "{model}"

    def model_name(self, model: str) -> str:
        name = model.rstrip("/").rsplit("/", 1)[-1] if "://" in model else model
        return self.model.replace("{model}", model).replace("{name}", name)


def memory_bytes(value: Any) -> int | None:
    """``17179869184``, ``"16GiB"`` or ``"16 GB"`` -> bytes; None when it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", value)
        if match and match.group(2).lower() in _UNITS:
            return int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    return None


def trainer_of(raw: Any) -> Trainer:
    if raw is None or raw == "trl":
        return Trainer("trl")
    if isinstance(raw, dict):
        return Trainer(None, entrypoint=str(raw.get("entrypoint") or ""), working_dir=raw.get("working_dir"))
    return Trainer(str(raw))


def settings_of(options: dict[str, Any]) -> RaySettings:
    return RaySettings(
        address=str(options.get("address") or ""),
        artifacts=str(options.get("artifacts") or "").rstrip("/"),
        trainer=trainer_of(options.get("trainer")),
        resources={k: options[k] for k in RESOURCE_KEYS if options.get(k) is not None},
        pip=tuple(str(p) for p in options.get("pip") or ()),
        env_vars={str(k): str(v) for k, v in (options.get("env_vars") or {}).items()},
        gpu_hour_usd=options.get("gpu_hour_usd"),
        tokens_per_gpu_hour=options.get("tokens_per_gpu_hour"),
        serve=serve_of(options.get("serve")),
    )


def serve_of(raw: Any) -> Serve | None:
    if not isinstance(raw, dict) or not raw.get("url"):
        return None
    return Serve(url=str(raw["url"]).rstrip("/"), api_key_env=raw.get("api_key_env"),
                 model=str(raw.get("model") or "{model}"))


def working_dir_problem(working_dir: str) -> str | None:
    """Why a trainer's working_dir (relative to the project root) is refused, before looking at the disk."""
    if not working_dir.strip():
        return "trainer.working_dir is empty"
    if working_dir.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", working_dir):
        return f"trainer.working_dir {working_dir!r} must be relative to the project root"
    normal = posixpath.normpath(working_dir.replace("\\", "/"))
    if normal == ".." or normal.startswith("../"):
        return f"trainer.working_dir {working_dir!r} leaves the project; it must be inside it"
    return None


def artifacts_problem(artifacts: str) -> str | None:
    if not artifacts.startswith(SCHEMES):
        return f"artifacts {artifacts!r} must start with one of {', '.join(SCHEMES)}"
    if artifacts.startswith("hf://") and len([p for p in artifacts[5:].split("/") if p]) != 2:
        return f"artifacts {artifacts!r} must be hf://ORG/REPO"
    rest = artifacts.split("://", 1)[1].strip("/")
    if not rest:
        return f"artifacts {artifacts!r} names no bucket, repository or directory"
    return None


def problems(options: dict[str, Any]) -> list[str]:
    found = []
    artifacts = options.get("artifacts")
    if isinstance(artifacts, str):
        problem = artifacts_problem(artifacts.rstrip("/"))
        if problem:
            found.append(problem)
    trainer = trainer_of(options.get("trainer"))
    if trainer.builtin not in (None, "trl"):
        found.append(f"trainer {trainer.builtin!r} is not built in; use trl or {{entrypoint: ..., working_dir: ...}}")
    if trainer.builtin is None:
        unknown = sorted({m for m in _PLACEHOLDER.findall(trainer.entrypoint or "") if m not in PLACEHOLDERS})
        if unknown:
            found.append(f"trainer.entrypoint uses unknown placeholder(s) {', '.join('{' + u + '}' for u in unknown)}"
                         f"; the placeholders are {', '.join('{' + p + '}' for p in PLACEHOLDERS)}")
        if trainer.working_dir is not None:
            problem = working_dir_problem(str(trainer.working_dir))
            if problem:
                found.append(problem)
    serve = serve_of(options.get("serve"))
    if serve is not None and not options.get("allow_http"):
        from ftops.trust import plain_http_problem

        problem = plain_http_problem(serve.url)
        if problem:
            found.append(f"serve.url {problem}; set allow_http: true if it is meant to be reached over plain http")
    if "memory" in options and memory_bytes(options["memory"]) is None:
        found.append(f"memory {options['memory']!r} is not a size (bytes, or like \"16GiB\")")
    return found
