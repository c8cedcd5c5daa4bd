"""Checkpoint permissions (``/v1/fine_tuning/checkpoints/{fine_tuned_model_checkpoint}/permissions``): share a
fine-tuned model or one of its checkpoints with other projects of the organisation. OpenAI requires an admin key
for these; the emulator has no notion of admin keys and accepts any key.

``POST`` with ``{project_ids: [...]}`` answers a list of the permissions it made (a project that already has one
gets that one back); ``GET`` lists them (``project_id``, ``after``, ``limit`` default 10, ``order`` ascending or
descending, default descending); ``DELETE .../permissions/{permission_id}`` answers ``{id, object, deleted}``.
"""

from __future__ import annotations

from typing import Any

from ftops.emulator.apierror import bad_request, not_found
from ftops.emulator.dialects.openai.paging import page
from ftops.emulator.httpio import Request
from ftops.emulator.state import Tx, new_id

OBJECT = "checkpoint.permission"


def _permissions(tx: Tx) -> dict[str, list[dict[str, Any]]]:
    mine = tx.data.setdefault("dialects", {}).setdefault("openai", {})
    return mine.setdefault("checkpoint_permissions", {})


def _checkpoint(tx: Tx, name: str) -> str:
    """``name`` checked to be a fine-tuned model or a checkpoint of one of this emulator's jobs."""
    if name in tx.data["models"] or any(c["fine_tuned_model_checkpoint"] == name
                                        for job in tx.data["jobs"].values() for c in job["checkpoints"]):
        return name
    raise not_found(f"Fine-tuned model checkpoint {name!r} not found.", param="fine_tuned_model_checkpoint",
                    code="model_not_found")


def create(tx: Tx, req: Request) -> dict:
    checkpoint = _checkpoint(tx, req.params["ckpt"])
    project_ids = req.json().get("project_ids")
    if not isinstance(project_ids, list) or not project_ids or \
            not all(isinstance(p, str) and p for p in project_ids):
        raise bad_request("'project_ids' must be a non-empty list of project ids.", param="project_ids")
    existing = _permissions(tx).setdefault(checkpoint, [])
    made = []
    for project_id in dict.fromkeys(project_ids):
        found = next((p for p in existing if p["project_id"] == project_id), None)
        if found is None:
            found = {"id": new_id("cp_"), "object": OBJECT, "created_at": int(tx.now), "project_id": project_id,
                     "seq": tx.next_seq()}
            existing.append(found)
        made.append(_view(found))
    tx.touch()
    return {"object": "list", "data": made, "first_id": made[0]["id"], "last_id": made[-1]["id"],
            "has_more": False}


def _view(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record[k] for k in ("id", "object", "created_at", "project_id")}


def list_permissions(tx: Tx, req: Request) -> dict:
    checkpoint = _checkpoint(tx, req.params["ckpt"])
    order = req.arg("order", "descending")
    if order not in ("ascending", "descending"):
        raise bad_request(f"Invalid 'order': {order!r}; expected 'ascending' or 'descending'.", param="order")
    project_id = req.arg("project_id")
    records = [r for r in _permissions(tx).get(checkpoint, []) if project_id is None or r["project_id"] == project_id]
    records.sort(key=lambda r: r["seq"], reverse=order == "descending")
    return page([_view(r) for r in records], req, default_limit=10, ids=True)


def delete(tx: Tx, req: Request) -> dict:
    checkpoint = _checkpoint(tx, req.params["ckpt"])
    records = _permissions(tx).get(checkpoint, [])
    found = next((r for r in records if r["id"] == req.params["id"]), None)
    if found is None:
        raise not_found(f"Permission {req.params['id']!r} not found for {checkpoint}.", param="permission_id")
    records.remove(found)
    tx.touch()
    return {"id": found["id"], "object": OBJECT, "deleted": True}
