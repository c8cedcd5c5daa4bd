"""Create-time checks of ``POST /v1/fine-tunes``, as Together documents the body: required fields, types, enums
and the model's limits refuse with an immediate 400 naming the ``param``; keys it does not know are accepted (the
official SDK sends ``early_stopping_enabled``, which the published spec lacks).

Returns the job in the emulator core's form, what only this dialect shows (``extra``: the request as recorded,
without a W&B key, and the values the service resolved), and the name its model gets.
"""

from __future__ import annotations

import datetime as dt

import math
import secrets
from typing import Any

from ftops.emulator import modeltable
from ftops.emulator.apierror import bad_request
from ftops.emulator.dialects.together import common
from ftops.emulator.dialects.together.common import Limits, expect
from ftops.emulator.state import Tx

DEFAULT_SEED = 42  # "If omitted or null, the server applies its default seed (e.g. 42)"
SUFFIX_MAX = 40
SECRET_FIELDS = ("wandb_api_key", "hf_api_token")
STRING_FIELDS = ("suffix", "wandb_base_url", "wandb_project_name", "wandb_name", "wandb_entity",
                 "from_checkpoint", "from_hf_model", "hf_model_revision", "hf_output_repo_name", "validation_file")


def _int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(float(value)))


def _optional_int(body: dict, name: str, low: int, high: int | None) -> None:
    if name not in body:
        return
    value = body[name]
    bound = f"between {low} and {high}" if high is not None else f">= {low}"
    expect(_int(value) and value >= low and (high is None or value <= high),
           f"'{name}' must be an integer {bound}, got {value!r}.", name)


def _optional_number(body: dict, name: str, low: float, high: float | None, *, high_open: bool = False) -> None:
    if name not in body:
        return
    value = body[name]
    ok = _number(value) and value >= low and (high is None or (value < high if high_open else value <= high))
    bound = f">= {low}" + (f" and {'<' if high_open else '<='} {high}" if high is not None else "")
    expect(ok, f"'{name}' must be a number {bound}, got {value!r}.", name)


def _model(tx: Tx, body: dict) -> tuple[str, str, dict | None]:
    """The model the job reports, its base (the table's name) and the job it continues from (or None)."""
    model, checkpoint = body.get("model"), body.get("from_checkpoint")
    parent = None
    if checkpoint:
        name, _, step = checkpoint.partition(":")
        expect(not step or step.isdigit(), f"Checkpoint {checkpoint!r}: the step after ':' must be a number.",
               "from_checkpoint")
        base = common.resolve_base(tx, name)
        expect(base is not None, f"Checkpoint {checkpoint!r} does not exist: give a job id or an output model name "
                                 "of yours, optionally with :STEP.", "from_checkpoint")
        parent = tx.data["jobs"].get(name) or next(
            (j for j in tx.data["jobs"].values() if j["fine_tuned_model"] == name), None)
        expect(parent is not None and parent["final_status"] == "succeeded",
               f"Checkpoint {checkpoint!r} is not from a completed job.", "from_checkpoint")
        if model not in (None, ""):
            expect(model == base, f"'model' {model!r} is not the base model of checkpoint {checkpoint!r} ({base}).",
                   "model")
        return str(base), str(base), parent
    expect(isinstance(model, str) and bool(model), "Missing required parameter: 'model'.", "model")
    expect(common.limits(str(model)) is not None,
           f"Model {model} is not supported for fine-tuning (see GET /v1/fine-tunes/models/supported).", "model")
    return str(model), str(model), None


def _training_method(body: dict) -> dict:
    method = body.get("training_method")
    if method is None:
        return {"method": "sft", "train_on_inputs": body.get("train_on_inputs", "auto")}
    expect(isinstance(method, dict), "'training_method' must be an object.", "training_method")
    kind = method.get("method")
    if kind == "sft":
        expect("train_on_inputs" in method and (isinstance(method["train_on_inputs"], bool)
                                                or method["train_on_inputs"] == "auto"),
               "'training_method.train_on_inputs' is required: true, false or \"auto\".",
               "training_method.train_on_inputs")
        return {"method": "sft", "train_on_inputs": method["train_on_inputs"]}
    expect(kind == "dpo", f"'training_method.method' must be 'sft' or 'dpo', got {kind!r}.", "training_method.method")
    out: dict[str, Any] = {"method": "dpo", "dpo_beta": 0.1, "rpo_alpha": 0.0, "simpo_gamma": 0.0,
                           "dpo_normalize_logratios_by_length": False, "dpo_reference_free": False}
    for name in ("dpo_beta", "rpo_alpha", "simpo_gamma"):
        if method.get(name) is not None:
            value = method[name]
            ok = _number(value) and (value > 0 if name == "dpo_beta" else value >= 0)
            expect(ok, f"'training_method.{name}' must be a {'positive' if name == 'dpo_beta' else 'non-negative'} "
                       f"number, got {value!r}.", f"training_method.{name}")
            out[name] = value
    for name in ("dpo_normalize_logratios_by_length", "dpo_reference_free"):
        if method.get(name) is not None:
            expect(isinstance(method[name], bool), f"'training_method.{name}' must be a boolean.",
                   f"training_method.{name}")
            out[name] = method[name]
    return out


def _training_type(body: dict, limits: Limits, parent: dict | None) -> dict:
    kind = body.get("training_type")
    if kind is None:  # LoRA by default, or the type of the job it continues from
        if parent is not None:
            return dict(parent["extra"]["resolved"]["training_type"])
        return {"type": "Lora", "lora_r": limits.max_rank, "lora_alpha": 2 * limits.max_rank, "lora_dropout": 0.0,
                "lora_trainable_modules": "all-linear"}
    expect(isinstance(kind, dict) and kind.get("type") in ("Full", "Lora"),
           "'training_type.type' must be 'Full' or 'Lora'.", "training_type.type")
    if kind["type"] == "Full":
        expect(limits.full_batch is not None, f"Full training is not supported for {limits.name}; use LoRA.",
               "training_type")
        return {"type": "Full"}
    for name in ("lora_r", "lora_alpha"):
        expect(name in kind, f"Missing required parameter: 'training_type.{name}'.", f"training_type.{name}")
        expect(_int(kind[name]) and kind[name] >= 1, f"'training_type.{name}' must be a positive integer.",
               f"training_type.{name}")
    expect(kind["lora_r"] <= limits.max_rank, f"'training_type.lora_r' is {kind['lora_r']}; the maximum rank for "
                                              f"{limits.name} is {limits.max_rank}.", "training_type.lora_r")
    dropout = kind.get("lora_dropout", 0.0)
    expect(_number(dropout) and 0 <= dropout < 1, "'training_type.lora_dropout' must be in [0, 1).",
           "training_type.lora_dropout")
    modules = kind.get("lora_trainable_modules", "all-linear")
    expect(isinstance(modules, str), "'training_type.lora_trainable_modules' must be a string.",
           "training_type.lora_trainable_modules")
    return {"type": "Lora", "lora_r": kind["lora_r"], "lora_alpha": kind["lora_alpha"], "lora_dropout": dropout,
            "lora_trainable_modules": modules}


def _lr_scheduler(body: dict) -> dict:
    scheduler = body.get("lr_scheduler")
    if scheduler is None:
        return {"lr_scheduler_type": "linear", "lr_scheduler_args": {"min_lr_ratio": 0.0}}
    expect(isinstance(scheduler, dict) and scheduler.get("lr_scheduler_type") in ("linear", "cosine"),
           "'lr_scheduler.lr_scheduler_type' must be 'linear' or 'cosine'.", "lr_scheduler.lr_scheduler_type")
    args = scheduler.get("lr_scheduler_args") or {}
    where = "lr_scheduler.lr_scheduler_args"
    expect(isinstance(args, dict), f"'{where}' must be an object.", where)
    for name in ("min_lr_ratio", "num_cycles"):
        if name in args:
            expect(_number(args[name]) and args[name] >= 0, f"'{where}.{name}' must be a non-negative number.",
                   f"{where}.{name}")
    return {"lr_scheduler_type": scheduler["lr_scheduler_type"], "lr_scheduler_args": dict(args)}


def _file(tx: Tx, body: dict, param: str, required: bool) -> str | None:
    file_id = body.get(param)
    if file_id in (None, "") and not required:
        return None
    expect(isinstance(file_id, str) and bool(file_id), f"Missing required parameter: '{param}'.", param)
    record = tx.data["files"].get(file_id)
    expect(record is not None, f"File {file_id} does not exist.", param)
    expect(record["purpose"] == "fine-tune", f"File {file_id} has purpose {record['purpose']!r}, not 'fine-tune'.",
           param)
    return file_id


def normalize(tx: Tx, body: dict) -> tuple[dict, dict, str]:
    """(the core's job request, the dialect's ``extra``, the output model name) for a create body."""
    cutoff = tx.cfg.training_cutoff
    if isinstance(cutoff, dt.date) and modeltable.today(tx) > cutoff:
        raise bad_request(f"New fine-tuning jobs are no longer accepted (the last day was {cutoff}).",
                          code="fine_tuning_unavailable")
    for name in STRING_FIELDS:
        expect(body.get(name) is None or isinstance(body[name], str), f"'{name}' must be a string.", name)
    model, base, parent = _model(tx, body)
    limits = common.limits(base)
    assert limits is not None
    if common.is_shut_down(tx, base):
        raise bad_request(f"Model {base} was shut down on {modeltable.shutdown_date(tx, base)} and can no longer "
                          "be fine-tuned.", param="model")
    training_file = _file(tx, body, "training_file", True)
    validation_file = _file(tx, body, "validation_file", False)
    _optional_int(body, "n_epochs", 1, common.MAX_EPOCHS)
    _optional_int(body, "n_checkpoints", 1, common.MAX_CHECKPOINTS)
    _optional_int(body, "n_evals", 0, common.MAX_EVALS)
    _optional_int(body, "max_seq_length", common.MIN_MAX_SEQ_LENGTH, limits.context)
    _optional_number(body, "learning_rate", common.MIN_LR, common.MAX_LR)
    _optional_number(body, "warmup_ratio", 0.0, 1.0)
    _optional_number(body, "max_grad_norm", 0.0, None)
    _optional_number(body, "weight_decay", 0.0, None)
    for name in ("packing",):
        expect(body.get(name) is None or isinstance(body[name], bool), f"'{name}' must be a boolean.", name)
    seed = body.get("random_seed")
    expect(seed is None or _int(seed), f"'random_seed' must be an integer or null, got {seed!r}.", "random_seed")
    suffix = body.get("suffix")
    expect(suffix is None or len(suffix) <= SUFFIX_MAX, f"'suffix' is {len(suffix or '')} characters; at most "
                                                        f"{SUFFIX_MAX} are allowed.", "suffix")
    method = _training_method(body)
    training_type = _training_type(body, limits, parent)
    low, high = limits.batch(training_type["type"], method["method"])
    batch = body.get("batch_size", "max")
    if batch != "max":
        expect(_int(batch), f"'batch_size' must be an integer or \"max\", got {batch!r}.", "batch_size")
        expect(low <= batch <= high, f"'batch_size' is {batch}; {limits.name} takes {low} to {high} for "
                                     f"{training_type['type']} {method['method']} training.", "batch_size")
    n_epochs = body.get("n_epochs", 1)
    resolved = {
        "n_epochs": n_epochs, "batch_size": high if batch == "max" else batch,
        "learning_rate": body.get("learning_rate", 1e-5), "lr_scheduler": _lr_scheduler(body),
        "warmup_ratio": body.get("warmup_ratio", 0.0), "max_grad_norm": body.get("max_grad_norm", 1.0),
        "weight_decay": body.get("weight_decay", 0.0), "n_evals": body.get("n_evals", 0),
        "n_checkpoints": body.get("n_checkpoints", 1), "packing": body.get("packing", True),
        "training_method": method, "training_type": training_type,
    }
    kind = "dpo" if method["method"] == "dpo" else "supervised"
    hyper: dict[str, Any] = {"n_epochs": n_epochs, "batch_size": resolved["batch_size"]}
    if kind == "dpo":
        hyper["beta"] = method["dpo_beta"]
    recorded = {k: v for k, v in body.items() if k not in SECRET_FIELDS}
    extra = {"request": recorded, "resolved": resolved, "cancel_requested_at": None,
             "wandb_api_key_sent": bool(body.get("wandb_api_key")), "from_checkpoint": body.get("from_checkpoint")}
    core = {"model": model, "base": base, "training_file": training_file, "validation_file": validation_file,
            "suffix": suffix, "seed": DEFAULT_SEED if seed is None else seed, "metadata": None,
            "integrations": None, "method": {"type": kind, kind: {"hyperparameters": hyper}}}
    return core, extra, output_name(tx, base, suffix)


def output_name(tx: Tx, base: str, suffix: str | None) -> str:
    """``<org>/<base name>-<suffix>-<8 hex>``, as Together names a fine-tune's model."""
    tail = secrets.token_hex(4)
    name = base.rsplit("/", 1)[-1]
    return f"{tx.cfg.org}/{name}-{suffix}-{tail}" if suffix else f"{tx.cfg.org}/{name}-{tail}"
