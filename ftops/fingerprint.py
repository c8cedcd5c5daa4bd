"""What determines a trained model, and its fingerprint.

The fingerprint covers the provider, the base model (or the parent's pinned model), the normalised method and
hyperparameters, seed, suffix and the sha256 of the training and validation files. Metadata, integrations,
protect and budget are deliberately left out: changing them does not retrain.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

FINGERPRINT_KEYS = ("provider", "base_model", "method", "seed", "suffix", "training_file", "validation_file")


def file_record(rel: str, sha256: str, size: int, examples: int | None, tokens: int | None,
                file_ids: dict[str, str] | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {"path": rel, "sha256": sha256, "bytes": size, "examples": examples, "tokens": tokens}
    if file_ids:
        record["file_ids"] = dict(sorted(file_ids.items()))
    return record


def make_inputs(*, provider: str, base_model: str | None, parent: str | None, method: dict, seed: int | None,
                suffix: str | None, training_file: dict, validation_file: dict | None) -> dict[str, Any]:
    """The inputs of a training run, as stored in the lockfile (key order is the lockfile's order)."""
    inputs: dict[str, Any] = {"provider": provider, "base_model": base_model}
    if parent:
        inputs["parent"] = parent
    inputs.update({"method": method, "seed": seed, "suffix": suffix, "training_file": training_file,
                   "validation_file": validation_file})
    return inputs


def fingerprint(inputs: dict[str, Any]) -> str:
    core = {key: inputs.get(key) for key in FINGERPRINT_KEYS}
    for key in ("training_file", "validation_file"):
        if core[key] is not None:
            core[key] = core[key]["sha256"]
    canonical = json.dumps(core, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
