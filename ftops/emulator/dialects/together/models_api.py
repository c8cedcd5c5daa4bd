"""Together's model endpoints: ``GET /v1/models`` (a bare array of ModelInfo: the base models of the emulator's
table and the fine-tunes its jobs made), the SDK's ``GET /v2/projects/{id}/models`` (the project's own models, cursor
paginated), and the fine-tuning catalogue: ``/v1/fine-tunes/models/supported`` and ``/models/limits``."""

from __future__ import annotations

from ftops.emulator.apierror import bad_request
from ftops.emulator.dialects.together import common
from ftops.emulator.httpio import Reply, Request
from ftops.emulator.state import Tx

_PRICING = {"hourly": 0, "input": 0, "output": 0, "base": 0, "finetune": 0}


def _info(model_id: str, created: int, organization: str, display: str, context: int) -> dict:
    return {"id": model_id, "object": "model", "created": created, "type": "chat", "display_name": display,
            "organization": organization, "context_length": context, "pricing": dict(_PRICING)}


def _fine_tunes(tx: Tx) -> list[dict]:
    return sorted(tx.data["models"].values(), key=lambda r: (r["created"], r["id"]))


def fine_tune_views(tx: Tx) -> list[dict]:
    """The models the emulator's jobs made, as ``/v1/models`` lists them."""
    views = []
    for record in _fine_tunes(tx):
        limits = common.limits(record["base"])
        views.append(_info(record["id"], record["created"], record["owned_by"], record["id"],
                           limits.context if limits else 0))
    return views


def list_models(tx: Tx, req: Request) -> list[dict]:
    data = []
    for name in common.base_models():
        limits = common.limits(name)
        assert limits is not None
        data.append(_info(name, common.BASE_CREATED, name.split("/", 1)[0], limits.display_name, limits.context))
    return data + fine_tune_views(tx)


def _registry_view(tx: Tx, record: dict, project: str) -> dict:
    job = tx.data["jobs"].get(record.get("job_id") or "")
    full = bool(job) and job["extra"]["resolved"]["training_type"].get("type") == "Full"
    return {"id": common.model_object_id(record["id"]), "name": record["id"], "organizationId": f"org_{tx.cfg.org}",
            "projectId": project, "visibility": "VISIBILITY_PRIVATE",
            "weights": {"type": "WEIGHTS_TYPE_DEFAULT" if full else "WEIGHTS_TYPE_ADAPTER"},
            "baseModelId": record["base"], "description": f"fine-tuned by job {record.get('job_id')}"}


def project_models(tx: Tx, req: Request) -> dict:
    """``GET /v2/projects/{id}/models``: ``{"data": [Model], "next_cursor"}``; ``after`` is the last id seen."""
    views = [_registry_view(tx, r, req.params["project"]) for r in _fine_tunes(tx)]
    after = req.arg("after")
    if after:
        position = next((i for i, v in enumerate(views) if v["id"] == after), None)
        if position is None:
            raise bad_request(f"Invalid 'after': {after!r}.", param="after")
        views = views[position + 1:]
    raw = req.arg("limit") or "100"
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise bad_request(f"Invalid 'limit': {raw!r}; expected 1 to 1000.", param="limit")
    page = views[:int(raw)]
    return {"data": page, "next_cursor": page[-1]["id"] if len(views) > len(page) else None}


def supported(tx: Tx, req: Request) -> dict:
    return {"models": common.base_models()}


def limits(tx: Tx, req: Request) -> dict | Reply:
    name = req.arg("model_name")
    if not name:
        raise bad_request("Missing required parameter: 'model_name'.", param="model_name")
    base = common.resolve_base(tx, name)
    found = common.limits(base) if base else None
    if found is None:
        return Reply(404, {"message": f"Model {name} not found or not supported for fine-tuning."})
    low, sft, dpo = found.lora_batch
    full_low, full_sft, full_dpo = found.full_batch or (0, 0, 0)
    return {"model_name": name, "max_num_epochs": common.MAX_EPOCHS, "max_num_evals": common.MAX_EVALS,
            "max_num_checkpoints": common.MAX_CHECKPOINTS, "max_learning_rate": common.MAX_LR,
            "min_learning_rate": common.MIN_LR, "supports_vision": name.endswith("-VLM"), "supports_tools": True,
            "supports_reasoning": False, "merge_output_lora": False,
            "supports_full_training": found.full_batch is not None, "default_gradient_accumulation_steps": 1,
            "max_seq_length_sft": found.context, "max_seq_length_dpo": found.context_dpo,
            "min_max_seq_length": common.MIN_MAX_SEQ_LENGTH,
            "full_training": {"max_batch_size": full_sft, "max_batch_size_dpo": full_dpo, "min_batch_size": full_low},
            "lora_training": {"max_batch_size": sft, "max_batch_size_dpo": dpo, "min_batch_size": low,
                              "max_rank": found.max_rank, "default_rank": found.max_rank,
                              "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                                                 "down_proj"]}}
