"""Create-time checks of ``POST /fine_tuning/jobs``: everything OpenAI refuses with an immediate 400.

Returns the request in normal form (``method`` always present, deprecated ``hyperparameters`` folded in).
File *contents* are not read here; that happens while the job is validating (``ftops/emulator/datasets.py``).
"""

from __future__ import annotations

import datetime as dt
import math
import secrets

from ftops.emulator import modeltable
from ftops.emulator.apierror import bad_request
from ftops.emulator.state import Tx

MAX_SEED = 2147483647
_COMMON: dict[str, tuple] = {"batch_size": ("int", 1, 256), "learning_rate_multiplier": ("num>", 0, None),
           "n_epochs": ("int", 1, 50)}
HYPERPARAMETERS: dict[str, dict[str, tuple]] = {
    "supervised": _COMMON,
    "dpo": {**_COMMON, "beta": ("num>", 0, 2)},
    "reinforcement": {**_COMMON, "compute_multiplier": ("num>", 1e-5, 10), "eval_interval": ("int", 1, None),
                      "eval_samples": ("int", 1, None),
                      "reasoning_effort": ("enum", ("default", "low", "medium", "high"), None)},
}
GRADER_TYPES = ("string_check", "text_similarity", "python", "score_model", "multi", "label_model")


def _check_value(name: str, value, rule: tuple, param: str) -> None:
    kind, low, high = rule
    if kind == "enum":
        if value not in low:
            raise bad_request(f"Invalid '{name}': {value!r}; expected one of {', '.join(low)}.", param=param)
        return
    if value == "auto":
        return
    is_int = isinstance(value, int) and not isinstance(value, bool)
    is_num = is_int or (isinstance(value, float) and math.isfinite(value))
    if (kind == "int" and not is_int) or not is_num:
        expected = "an integer" if kind == "int" else "a number"
        raise bad_request(f"Invalid '{name}': expected 'auto' or {expected}, got {value!r}.", param=param)
    too_low = value <= low if kind == "num>" else value < low
    if too_low or (high is not None and value > high):
        bounds = f"{'>' if kind == 'num>' else '>='} {low}" + (f" and <= {high}" if high is not None else "")
        raise bad_request(f"Invalid '{name}': {value} is out of range; it must be {bounds}.", param=param)


def check_hyperparameters(method_type: str, values, prefix: str) -> dict:
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise bad_request("'hyperparameters' must be an object.", param=prefix)
    rules = HYPERPARAMETERS[method_type]
    for name, value in values.items():
        if name not in rules:
            raise bad_request(f"Unknown hyperparameter '{name}' for method '{method_type}'.", param=f"{prefix}.{name}")
        _check_value(name, value, rules[name], f"{prefix}.{name}")
    return dict(values)


def _method(body: dict) -> dict:
    method, legacy = body.get("method"), body.get("hyperparameters")
    if method is None:
        return {"type": "supervised",
                "supervised": {"hyperparameters": check_hyperparameters("supervised", legacy, "hyperparameters")}}
    if legacy:
        raise bad_request("'hyperparameters' is deprecated and cannot be combined with 'method'; put them in "
                          "method.<type>.hyperparameters.", param="hyperparameters")
    if not isinstance(method, dict) or method.get("type") not in HYPERPARAMETERS:
        raise bad_request("'method.type' must be one of supervised, dpo, reinforcement.", param="method.type")
    kind = method["type"]
    section = method.get(kind) or {}
    if not isinstance(section, dict):
        raise bad_request(f"'method.{kind}' must be an object.", param=f"method.{kind}")
    out = {"hyperparameters": check_hyperparameters(kind, section.get("hyperparameters"),
                                                    f"method.{kind}.hyperparameters")}
    if kind == "reinforcement":
        grader = section.get("grader")
        if not isinstance(grader, dict) or grader.get("type") not in GRADER_TYPES:
            raise bad_request(f"'method.reinforcement.grader' is required; its type must be one of "
                              f"{', '.join(GRADER_TYPES)}.", param="method.reinforcement.grader")
        out["grader"] = grader
    return {"type": kind, kind: out}


def _check_file(tx: Tx, body: dict, param: str, required: bool) -> str | None:
    file_id = body.get(param)
    if file_id is None and not required:
        return None
    if not isinstance(file_id, str) or not file_id:
        raise bad_request(f"Missing required parameter: '{param}'.", param=param)
    record = tx.data["files"].get(file_id)
    if record is None:
        raise bad_request(f"invalid {param}: {file_id} (no such file)", param=param, code="invalid_file")
    if record["purpose"] != "fine-tune":
        raise bad_request(f"invalid {param}: {file_id} has purpose '{record['purpose']}', expected 'fine-tune'.",
                          param=param, code="invalid_file_purpose")
    return file_id


def _check_model(tx: Tx, model, method_type: str) -> tuple[str, str]:
    """The model as the job reports it, and the base snapshot the new model is named after."""
    if not isinstance(model, str) or not model:
        raise bad_request("Missing required parameter: 'model'.", param="model")
    if model.startswith("ft:") or model in tx.data["models"]:  # a fine-tune to continue (Azure names end .ft-<hex>)
        parent = tx.data["models"].get(model)
        if parent is None:
            raise bad_request(f"Model {model} does not exist or you do not have access to it.", param="model",
                              code="model_not_found")
        base = parent["base"]
    else:
        info = modeltable.table(tx.cfg.api).lookup(model)
        if not info.known:
            raise bad_request(f"Model {model} is not available for fine-tuning or does not exist.", param="model",
                              code="model_not_available")
        base = model = info.name
    if modeltable.is_shut_down(tx, model):
        raise bad_request(f"Model {model} was shut down on {modeltable.shutdown_date(tx, model)} and can no longer "
                          "be fine-tuned.", param="model", code="model_not_available")
    if method_type not in modeltable.table(tx.cfg.api).lookup(base).methods:
        raise bad_request(f"Model {base} does not support the '{method_type}' method.", param="method.type")
    return model, base


def _check_metadata(metadata) -> dict | None:
    if metadata is None:
        return None
    if not isinstance(metadata, dict) or len(metadata) > 16:
        raise bad_request("'metadata' must be an object with at most 16 key-value pairs.", param="metadata")
    for key, value in metadata.items():
        if len(key) > 64:
            raise bad_request(f"Metadata key {key[:20]!r}... is longer than 64 characters.", param=f"metadata.{key}")
        if not isinstance(value, str) or len(value) > 512:
            raise bad_request("Metadata values must be strings of at most 512 characters.", param=f"metadata.{key}")
    return dict(metadata)


def _check_integrations(integrations) -> list | None:
    if integrations is None:
        return None
    if not isinstance(integrations, list) or len(integrations) > 5:
        raise bad_request("'integrations' must be a list of at most 5 integrations.", param="integrations")
    for i, item in enumerate(integrations):
        wandb = item.get("wandb") if isinstance(item, dict) else None
        if not isinstance(item, dict) or item.get("type") != "wandb" or not isinstance(wandb, dict) \
                or not isinstance(wandb.get("project"), str):
            raise bad_request("Each integration must be {type: 'wandb', wandb: {project, ...}}.",
                              param=f"integrations[{i}]")
    return integrations


def normalize(tx: Tx, body: dict) -> dict:
    """The checked request: model, base, files, suffix, seed, metadata, integrations, method."""
    cutoff = tx.cfg.training_cutoff
    if isinstance(cutoff, dt.date) and modeltable.today(tx) > cutoff:
        raise bad_request(f"New fine-tuning jobs are no longer accepted (the last day was {cutoff}).",
                          code="fine_tuning_unavailable")
    method = _method(body)
    model, base = _check_model(tx, body.get("model"), method["type"])
    suffix = body.get("suffix")
    if suffix is not None and (not isinstance(suffix, str) or not 1 <= len(suffix) <= 64):
        raise bad_request("'suffix' must be a string of 1 to 64 characters.", param="suffix")
    seed = body.get("seed")
    if seed is None:
        seed = secrets.randbelow(MAX_SEED + 1)
    elif not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
        raise bad_request(f"'seed' must be an integer between 0 and {MAX_SEED}.", param="seed")
    return {"model": model, "base": base, "training_file": _check_file(tx, body, "training_file", True),
            "validation_file": _check_file(tx, body, "validation_file", False), "suffix": suffix, "seed": seed,
            "metadata": _check_metadata(body.get("metadata")),
            "integrations": _check_integrations(body.get("integrations")), "method": method}
