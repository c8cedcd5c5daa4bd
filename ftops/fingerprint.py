"""What determines a trained model, and its fingerprint.

The fingerprint is made of what the user declared and of the data: the provider, the base model (or the parent's
pinned model), the method with the hyperparameters the spec sets (an omitted value and "auto" are the same; ``3``
and ``3.0`` are the same), seed, suffix, the spec's ``provider_options`` for its provider type, and the sha256 of
the training and validation files. Defaults that ftops or a provider fills in are never part of it, so a new
default can never retrain anything. Metadata, integrations, protect and budget are left out: changing them does
not retrain.

Fingerprints are versioned: ``v2:sha256:<hex>`` today. A lockfile entry written by ftops 0.1 carries a version-1
fingerprint (``sha256:<hex>``, over OpenAI's defaults); the plan compares such an entry with the version-1
fingerprint of the same spec (``legacy_v1``), so upgrading ftops never retrains.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ftops.numbers import canonical

VERSION = 2
PREFIX = f"v{VERSION}:"
FINGERPRINT_KEYS = ("provider", "base_model", "method", "seed", "suffix", "training_file", "validation_file",
                    "provider_options")


def file_record(rel: str, sha256: str, size: int, examples: int | None, tokens: int | None,
                file_ids: dict[str, str] | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {"path": rel, "sha256": sha256, "bytes": size, "examples": examples, "tokens": tokens}
    if file_ids:
        record["file_ids"] = dict(sorted(file_ids.items()))
    return record


def make_inputs(*, provider: str, base_model: str | None, parent: str | None, method: dict, seed: int | None,
                suffix: str | None, training_file: dict, validation_file: dict | None,
                provider_options: dict[str, Any] | None = None) -> dict[str, Any]:
    """The inputs of a training run, as stored in the lockfile (key order is the lockfile's order)."""
    inputs: dict[str, Any] = {"provider": provider, "base_model": base_model}
    if parent:
        inputs["parent"] = parent
    inputs.update({"method": method, "seed": seed, "suffix": suffix, "training_file": training_file,
                   "validation_file": validation_file})
    if provider_options:
        inputs["provider_options"] = provider_options
    return inputs


def _digest(core: dict[str, Any]) -> str:
    canonical_json = json.dumps(core, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical_json.encode("utf-8")).hexdigest()


def _core(inputs: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    core: dict[str, Any] = {key: inputs.get(key) for key in keys}
    for key in ("training_file", "validation_file"):
        record = core.get(key)
        if record is not None:
            core[key] = record["sha256"]
    return core


def fingerprint(inputs: dict[str, Any]) -> str:
    core = canonical(_core(inputs, FINGERPRINT_KEYS))
    core["fingerprint_version"] = VERSION
    if not core.get("provider_options"):
        core.pop("provider_options", None)
    return PREFIX + _digest(core)


def version_of(value: str | None) -> int | None:
    if not value:
        return None
    return VERSION if value.startswith(PREFIX) else 1 if value.startswith("sha256:") else None


# -- version 1 (ftops 0.1) --------------------------------------------------------------------------------------
V1_KEYS = ("provider", "base_model", "method", "seed", "suffix", "training_file", "validation_file")
V1_DEFAULTS: dict[str, dict[str, Any]] = {  # what 0.1 filled into every method before hashing (frozen here)
    "supervised": {"batch_size": "auto", "learning_rate_multiplier": "auto", "n_epochs": "auto"},
    "dpo": {"batch_size": "auto", "beta": "auto", "learning_rate_multiplier": "auto", "n_epochs": "auto"},
    "reinforcement": {"batch_size": "auto", "compute_multiplier": "auto", "eval_interval": "auto",
                      "eval_samples": "auto", "learning_rate_multiplier": "auto", "n_epochs": "auto",
                      "reasoning_effort": "default"},
}


def legacy_method(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    """The method as ftops 0.1 normalised it, or None when the spec uses something 0.1 could not express."""
    raw = raw or {"type": "supervised"}
    kind = raw.get("type")
    if kind not in V1_DEFAULTS or set(raw) - {"type", "hyperparameters", "grader", "response_format"}:
        return None
    declared = raw.get("hyperparameters") or {}
    if set(declared) - set(V1_DEFAULTS[kind]):
        return None
    method: dict[str, Any] = {"type": kind, "hyperparameters": dict(sorted({**V1_DEFAULTS[kind], **declared}.items()))}
    for key in ("grader", "response_format"):
        if raw.get(key) is not None:
            method[key] = json.loads(json.dumps(raw[key], sort_keys=True))
    return method


def legacy_v1(inputs: dict[str, Any], method_as_written: dict[str, Any] | None) -> set[str]:
    """The fingerprints ftops 0.1 would have computed for these inputs (for the numbers as written, and as their
    canonical equals: 0.1 hashed ``3.0`` apart from ``3``, today they are the same); empty when 0.1 could not
    express these inputs."""
    if inputs.get("provider_options"):
        return set()
    out = set()
    for written in (method_as_written, canonical(method_as_written)):
        method = legacy_method(written)
        if method is not None:
            out.add(_digest(_core({**inputs, "method": method}, V1_KEYS)))
    return out


def matches(recorded: str | None, inputs: dict[str, Any], method_as_written: dict[str, Any] | None) -> bool:
    """Whether a fingerprint recorded in the lockfile (of any version) is the one of these inputs."""
    version = version_of(recorded)
    if version == VERSION:
        return recorded == fingerprint(inputs)
    if version == 1:
        return recorded in legacy_v1(inputs, method_as_written)
    return False
