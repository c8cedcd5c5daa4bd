"""The Files API: upload (multipart), list, retrieve, delete and raw content. Bytes live in ``blobs/<id>``."""

from __future__ import annotations

from ftops.emulator.apierror import ApiError, bad_request
from ftops.emulator.dialects.openai.paging import page
from ftops.emulator.httpio import MB, Request
from ftops.emulator.filestore import add_file, get_record, remove
from ftops.emulator.state import Tx

MAX_FILE_BYTES = 512 * MB
UPLOAD_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")


def view(record: dict) -> dict:
    keys = ("id", "object", "bytes", "created_at", "filename", "purpose", "status", "expires_at")
    return {k: record[k] for k in keys if record.get(k) is not None}


def check_new_file(filename: str, purpose: str, size: int, param: str = "file") -> None:
    if purpose not in UPLOAD_PURPOSES:
        raise bad_request(f"Invalid value for 'purpose': {purpose!r}. Supported: {', '.join(UPLOAD_PURPOSES)}.",
                          param="purpose")
    if size > MAX_FILE_BYTES:
        raise ApiError(413, f"File is too large: {size} bytes; the maximum is {MAX_FILE_BYTES} bytes (512 MB).",
                       param=param, code="file_too_large")
    if purpose == "fine-tune" and not filename.lower().endswith(".jsonl"):
        raise bad_request(f"Invalid file format for Fine-Tuning API. Must be .jsonl (got {filename!r}).",
                          param=param, code="invalid_file_format")


def _expires_at(form: dict, now: float) -> int | None:
    anchor, seconds = form.get("expires_after[anchor]"), form.get("expires_after[seconds]")
    if anchor is None and seconds is None:
        return None
    if anchor is None or anchor.data != b"created_at":
        raise bad_request("expires_after[anchor] must be 'created_at'.", param="expires_after.anchor")
    try:
        value = int(seconds.data) if seconds is not None else -1
    except ValueError:
        value = -1
    if not 3600 <= value <= 2592000:
        raise bad_request("expires_after[seconds] must be an integer between 3600 and 2592000.",
                          param="expires_after.seconds")
    return int(now) + value


def create(tx: Tx, req: Request) -> dict:
    form = req.multipart()
    upload, purpose = form.get("file"), form.get("purpose")
    if upload is None or upload.filename is None:
        raise bad_request("Missing required parameter: 'file' (a file part with a filename).", param="file")
    if purpose is None:
        raise bad_request("Missing required parameter: 'purpose'.", param="purpose")
    purpose_text = purpose.data.decode("utf-8", "replace")
    check_new_file(upload.filename, purpose_text, upload.size)
    return view(add_file(tx, upload.filename, purpose_text, upload.content, _expires_at(form, tx.now)))


def list_files(tx: Tx, req: Request) -> dict:
    order = req.arg("order", "desc")
    if order not in ("asc", "desc"):
        raise bad_request(f"Invalid 'order': {order!r}; expected 'asc' or 'desc'.", param="order")
    purpose = req.arg("purpose")
    records = [r for r in tx.data["files"].values() if purpose is None or r["purpose"] == purpose]
    records.sort(key=lambda r: r["seq"], reverse=order == "desc")
    # ListFilesResponse requires first_id and last_id as strings, also on an empty page (where no id exists)
    return page([view(r) for r in records], req, default_limit=10000, ids=True, empty_id="")


def retrieve(tx: Tx, req: Request) -> dict:
    return view(get_record(tx, req.params["id"]))


def delete(tx: Tx, req: Request) -> dict:
    record = get_record(tx, req.params["id"])
    remove(tx, record)
    return {"id": record["id"], "object": "file", "deleted": True}


def content(tx: Tx, req: Request) -> bytes:
    record = get_record(tx, req.params["id"])
    return tx.read_blob(record["id"])
