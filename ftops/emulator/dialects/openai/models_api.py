"""OpenAI's Models API: the emulator's base models (with shutdown dates) plus the fine-tunes that exist."""

from __future__ import annotations

import datetime as dt

from ftops.emulator.apierror import ApiError, not_found
from ftops.emulator.modeltable import base_ids, is_base, is_shut_down, shutdown_date, table, today
from ftops.emulator.httpio import Request
from ftops.emulator.state import Tx

BASE_CREATED = 1_700_000_000  # the table has no creation times; a fixed, plausible one


def _base_view(tx: Tx, model_id: str) -> dict:
    return {"id": model_id, "object": "model", "created": BASE_CREATED, "owned_by": "system",
            "shutdown_date": shutdown_date(tx, model_id)}


def _ft_view(tx: Tx, record: dict) -> dict:
    return {"id": record["id"], "object": "model", "created": record["created"], "owned_by": record["owned_by"],
            "shutdown_date": shutdown_date(tx, record["id"])}


def _checkpoint(tx: Tx, model_id: str) -> dict | None:
    """A checkpoint model (``ft:...:ckpt-step-N``) is served while the job's final model exists."""
    for job in tx.data["jobs"].values():
        if job.get("fine_tuned_model") in tx.data["models"] and any(
                c["fine_tuned_model_checkpoint"] == model_id for c in job.get("checkpoints") or ()):
            return {**tx.data["models"][job["fine_tuned_model"]], "id": model_id}
    return None


def find(tx: Tx, model_id: str) -> dict | None:
    if model_id in tx.data["models"]:
        return _ft_view(tx, tx.data["models"][model_id])
    if ":ckpt-step-" in model_id:
        record = _checkpoint(tx, model_id)
        return _ft_view(tx, record) if record else None
    if not model_id.startswith("ft:") and is_base(tx, model_id):
        return _base_view(tx, model_id)
    return None


def list_models(tx: Tx, req: Request) -> dict:
    data = [_base_view(tx, m) for m in base_ids(tx.cfg.api)]
    data += [_ft_view(tx, r) for r in sorted(tx.data["models"].values(), key=lambda r: r["created"])]
    return {"object": "list", "data": data}


def retrieve(tx: Tx, req: Request) -> dict:
    model = find(tx, req.params["id"])
    if model is None:
        raise not_found(f"The model '{req.params['id']}' does not exist", param="model", code="model_not_found")
    return model


def delete(tx: Tx, req: Request) -> dict:
    model_id = req.params["id"]
    if model_id in tx.data["models"]:
        del tx.data["models"][model_id]
        tx.touch()
        return {"id": model_id, "object": "model", "deleted": True}
    if find(tx, model_id) is not None:
        raise ApiError(403, f"You cannot delete {model_id}: only fine-tuned models you own can be deleted.",
                       param="model", code="model_not_deletable")
    raise not_found(f"The model '{model_id}' does not exist", param="model", code="model_not_found")


def model_limits(tx: Tx, req: Request) -> dict:
    """``GET /v1/fine_tuning/model_limits``: the base models this organisation may fine-tune now, with the methods
    and the per-example context each takes. OpenAI's help centre points users at this endpoint (providers-2026.md
    1.1) but it is not in the published OpenAPI document, so its shape here is the emulator's own: a list of
    ``{object: "fine_tuning.model_limit", model, methods, training_context_tokens, shutdown_date}``. Past the
    configured training cut-off the list is empty, as no new job is accepted then."""
    cutoff = tx.cfg.training_cutoff
    data = []
    if not (isinstance(cutoff, dt.date) and today(tx) > cutoff):
        cat = table(tx.cfg.api)
        for model_id in sorted(cat.models):
            info = cat.lookup(model_id)
            if is_shut_down(tx, model_id):
                continue
            data.append({"object": "fine_tuning.model_limit", "model": model_id, "methods": list(info.methods),
                         "training_context_tokens": info.context, "shutdown_date": shutdown_date(tx, model_id)})
    return {"object": "list", "data": data, "has_more": False}
