"""The Uploads API: a large file sent in parts, assembled in order on ``complete``; expires after one hour."""

from __future__ import annotations

from ftops.emulator.dialects.openai import files
from ftops.emulator.apierror import ApiError, bad_request, not_found
from ftops.emulator.httpio import MB, Request
from ftops.emulator.state import Tx, new_id

MAX_PART_BYTES = 64 * MB
MAX_UPLOAD_BYTES = 8 * 1024 * MB
UPLOAD_PURPOSES = ("assistants", "batch", "fine-tune", "vision")
LIFETIME = 3600


def status(record: dict, now: float) -> str:
    if record["status"] == "pending" and now >= record["expires_at"]:
        return "expired"
    return record["status"]


def view(tx: Tx, record: dict) -> dict:
    body = {k: record[k] for k in ("id", "object", "bytes", "created_at", "filename", "purpose", "expires_at")}
    body["status"] = status(record, tx.now)
    file_record = tx.data["files"].get(record.get("file_id") or "")
    body["file"] = files.view(file_record) if file_record else None
    return body


def _pending(tx: Tx, upload_id: str) -> dict:
    record = tx.data["uploads"].get(upload_id)
    if record is None:
        raise not_found(f"No such Upload object: {upload_id}", param="upload_id")
    current = status(record, tx.now)
    if current != "pending":
        raise bad_request(f"Upload {upload_id} is {current}; only a pending upload accepts this request.",
                          param="upload_id")
    return record


def create(tx: Tx, req: Request) -> dict:
    body = req.json()
    for key in ("filename", "purpose", "bytes", "mime_type"):
        if body.get(key) in (None, ""):
            raise bad_request(f"Missing required parameter: '{key}'.", param=key)
    size, purpose, filename = body["bytes"], body["purpose"], body["filename"]
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise bad_request("'bytes' must be a non-negative integer.", param="bytes")
    if size > MAX_UPLOAD_BYTES:
        raise bad_request(f"'bytes' is {size}; an upload holds at most {MAX_UPLOAD_BYTES} bytes (8 GB).",
                          param="bytes")
    if purpose not in UPLOAD_PURPOSES:
        raise bad_request(f"Invalid value for 'purpose': {purpose!r}. Supported: {', '.join(UPLOAD_PURPOSES)}.",
                          param="purpose")
    if not isinstance(filename, str):
        raise bad_request("'filename' must be a string.", param="filename")
    if purpose == "fine-tune":
        files.check_new_file(filename, purpose, 0, param="filename")
    upload_id = new_id("upload_")
    record = {"id": upload_id, "object": "upload", "bytes": size, "created_at": int(tx.now),
              "expires_at": int(tx.now) + LIFETIME, "filename": filename, "purpose": purpose,
              "status": "pending", "parts": {}, "file_id": None}
    tx.data["uploads"][upload_id] = record
    tx.touch()
    return view(tx, record)


def add_part(tx: Tx, req: Request) -> dict:
    record = _pending(tx, req.params["id"])
    part = req.multipart().get("data")
    if part is None:
        raise bad_request("Missing required parameter: 'data'.", param="data")
    if part.size > MAX_PART_BYTES:
        raise ApiError(413, f"Part is too large: {part.size} bytes; a part holds at most 64 MB.",
                       param="data", code="part_too_large")
    part_id = new_id("part_")
    record["parts"][part_id] = part.size
    tx.write_blob(part_id, part.content)
    tx.touch()
    return {"id": part_id, "object": "upload.part", "created_at": int(tx.now), "upload_id": record["id"]}


def complete(tx: Tx, req: Request) -> dict:
    record = _pending(tx, req.params["id"])
    body = req.json()
    part_ids = body.get("part_ids")
    if not isinstance(part_ids, list) or not part_ids or not all(isinstance(p, str) for p in part_ids):
        raise bad_request("'part_ids' must be a non-empty list of part ids.", param="part_ids")
    unknown = [p for p in part_ids if p not in record["parts"]]
    if unknown:
        raise bad_request(f"Part {unknown[0]} does not belong to upload {record['id']}.", param="part_ids")
    if len(set(part_ids)) != len(part_ids):
        raise bad_request("'part_ids' lists a part more than once.", param="part_ids")
    total = sum(record["parts"][p] for p in part_ids)
    if total != record["bytes"]:
        raise bad_request(f"The parts add up to {total} bytes but the upload declared {record['bytes']} bytes.",
                          param="part_ids")
    md5 = body.get("md5")
    content = tx.join_blobs(part_ids, md5=bool(md5))  # on disk, copied in blocks
    req.spools.append(content)  # deleted with the request unless it becomes the file
    if md5 and content.md5 != str(md5).lower():
        raise bad_request("The md5 checksum does not match the uploaded bytes.", param="md5")
    record["file_id"] = files.add_file(tx, record["filename"], record["purpose"], content)["id"]
    _drop_parts(tx, record, "completed")
    return view(tx, record)


def cancel(tx: Tx, req: Request) -> dict:
    record = _pending(tx, req.params["id"])
    _drop_parts(tx, record, "cancelled")
    return view(tx, record)


def _drop_parts(tx: Tx, record: dict, new_status: str) -> None:
    for part_id in record["parts"]:
        tx.delete_blob(part_id)
    record["parts"] = {}
    record["status"] = new_status
    tx.touch()
