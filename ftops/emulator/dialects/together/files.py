"""Together's Files API: the documented ``POST /v1/files/upload`` (multipart with the bytes) and the official
SDK's redirect flow (``POST /v1/files`` answers 302 with ``Location`` and ``X-Together-File-Id``, the client PUTs
the bytes there, then ``POST /v1/files/{id}/preprocess`` makes the file; a checksum already uploaded is a 409
``{"file_id"}``), plus list, retrieve, delete and raw content. Bytes live in ``blobs/<id>`` (the neutral file
store); an upload in flight is a record in ``state["uploads"]``."""

from __future__ import annotations

import hmac
import re
import secrets
from urllib.parse import parse_qs

from ftops.emulator.apierror import ApiError, bad_request, not_found
from ftops.emulator.filestore import add_file, get_record, remove
from ftops.emulator.httpio import MB, Reply, Request, parse_multipart
from ftops.emulator.spool import Spool, sha256_of, size_of
from ftops.emulator.state import Tx, new_id

MAX_FILE_BYTES = 512 * MB  # Together takes up to 100 GB; the emulator stops at 512 MB
PURPOSES = ("fine-tune", "eval", "eval-sample", "eval-output", "eval-summary", "batch-generated", "batch-api")
FILE_TYPES = ("csv", "jsonl", "parquet")
UPLOAD_PATH = "/together-uploads"  # where the redirect flow's presigned PUT goes (outside /v1: no API key)
_CHECKSUM = re.compile(r"[0-9a-f]{64}")


def file_type(filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return ext if ext in FILE_TYPES else "jsonl"


def visible(record: dict) -> bool:
    """Files the Together API shows: those with one of its purposes (not the core's OpenAI-style result files)."""
    return record.get("purpose") in PURPOSES


def view(record: dict) -> dict:
    return {"id": record["id"], "object": "file", "created_at": int(record["created_at"]),
            "filename": record["filename"], "bytes": record["bytes"], "purpose": record["purpose"],
            "FileType": record.get("file_type") or file_type(record["filename"]), "Processed": True,
            "processing_status": "COMPLETED"}


def _record(tx: Tx, file_id: str) -> dict:
    record = tx.data["files"].get(file_id)
    if record is None or not visible(record):
        raise not_found(f"File {file_id} not found.", param="id")
    return record


def _fields(req: Request) -> dict[str, str]:
    """The text fields of a multipart or url-encoded form."""
    ctype = (req.headers.get("content-type") or "").lower()
    if ctype.startswith("application/x-www-form-urlencoded"):
        return {k: v[-1] for k, v in parse_qs(req.body.decode("utf-8", "replace")).items()}
    return {name: part.data.decode("utf-8", "replace") for name, part in parse_multipart(req.headers, req.body).items()
            if part.filename is None}


def _check(fields: dict[str, str]) -> tuple[str, str, str]:
    purpose, name = fields.get("purpose"), fields.get("file_name")
    if not purpose:
        raise bad_request("Missing required parameter: 'purpose'.", param="purpose")
    if purpose not in PURPOSES:
        raise bad_request(f"Invalid purpose {purpose!r}; expected one of {', '.join(PURPOSES)}.", param="purpose")
    if not name:
        raise bad_request("Missing required parameter: 'file_name'.", param="file_name")
    kind = fields.get("file_type") or "jsonl"
    if kind not in FILE_TYPES:
        raise bad_request(f"Invalid file_type {kind!r}; expected one of {', '.join(FILE_TYPES)}.", param="file_type")
    return purpose, name, kind


def _too_large(size: int) -> ApiError:
    return ApiError(413, f"File is too large: {size} bytes; this server takes at most {MAX_FILE_BYTES} bytes.",
                    param="file", code="file_too_large")


def upload(tx: Tx, req: Request) -> dict:
    """``POST /v1/files/upload``: the documented one-request upload."""
    form = req.multipart()
    purpose, name, kind = _check({k: p.data.decode("utf-8", "replace") for k, p in form.items()
                                  if p.filename is None})
    part = form.get("file")
    if part is None or part.filename is None:
        raise bad_request("Missing required parameter: 'file' (a file part).", param="file")
    if part.size > MAX_FILE_BYTES:
        raise _too_large(part.size)
    record = add_file(tx, name, purpose, part.content)
    record["file_type"] = kind
    return view(record)


def start_upload(tx: Tx, req: Request) -> Reply:
    """``POST /v1/files`` without bytes (the SDK's flow): 302 to a presigned URL, or 409 when a file with this
    checksum exists already."""
    fields = _fields(req)
    purpose, name, kind = _check(fields)
    checksum = (fields.get("checksum") or "").lower()
    if not _CHECKSUM.fullmatch(checksum):
        raise bad_request("'checksum' must be the file's SHA-256 hex digest.", param="checksum")
    existing = next((r for r in sorted(tx.data["files"].values(), key=lambda r: r["seq"])
                     if visible(r) and r.get("sha256") == checksum), None)
    if existing is not None:
        return Reply(409, {"error": {"message": f"A file with this content exists already: {existing['id']}.",
                                     "type": "invalid_request_error", "param": "checksum", "code": "file_exists"},
                           "file_id": existing["id"]}, {"x-should-retry": "false"})
    file_id = new_id("file-")
    token = secrets.token_hex(16)
    tx.data["uploads"][file_id] = {"id": file_id, "filename": name, "purpose": purpose, "file_type": kind,
                                   "checksum": checksum, "token": token, "status": "pending",
                                   "created_at": int(tx.now), "bytes": None}
    tx.touch()
    host = req.headers.get("host") or "127.0.0.1"
    return Reply(302, None, {"location": f"http://{host}{UPLOAD_PATH}/{file_id}?token={token}",
                             "x-together-file-id": file_id})


def put_bytes(tx: Tx, req: Request) -> Reply:
    """``PUT <Location>``: the presigned URL takes the raw bytes (the token in its query is the credential)."""
    record = tx.data["uploads"].get(req.params["id"])
    token = req.arg("token") or ""
    if record is None or not hmac.compare_digest(token.encode(), str(record["token"]).encode()):
        raise ApiError(403, "The upload URL is not valid (unknown upload or wrong token).", code="AccessDenied")
    if record["status"] == "processed":
        raise bad_request("This upload was completed already.", param="id")
    payload = req.payload
    if size_of(payload) > MAX_FILE_BYTES:
        raise _too_large(size_of(payload))
    digest = sha256_of(payload)
    if digest != record["checksum"]:
        raise bad_request("The bytes do not match the checksum given when the upload was started.",
                          param="checksum", code="BadDigest")
    record.update(status="uploaded", bytes=size_of(payload))
    tx.write_blob(f"upload-{record['id']}", payload)
    tx.touch()
    return Reply(200, None, {"etag": f'"{digest[:32]}"'})


def preprocess(tx: Tx, req: Request) -> dict:
    """``POST /v1/files/{id}/preprocess``: the uploaded bytes become the file (again: the same file)."""
    file_id = req.params["id"]
    record = tx.data["uploads"].get(file_id)
    if record is None:
        return view(_record(tx, file_id))
    if record["status"] == "processed":
        return view(_record(tx, file_id))
    if record["status"] != "uploaded":
        raise bad_request(f"File {file_id} has no bytes yet: PUT them to the upload URL first.", param="id")
    blob = f"upload-{file_id}"
    received = Spool.existing(tx.store.blob_path(blob), record["bytes"], record["checksum"])  # checked on PUT
    created = add_file(tx, record["filename"], record["purpose"], received, file_id=file_id)
    created["file_type"] = record["file_type"]
    tx.delete_blob(blob)
    record["status"] = "processed"
    tx.touch()
    return view(created)


def upload_view(record: dict) -> dict:
    return {k: record[k] for k in ("id", "filename", "purpose", "file_type", "checksum", "status", "created_at",
                                   "bytes")}


def list_files(tx: Tx, req: Request) -> dict:
    records = sorted((r for r in tx.data["files"].values() if visible(r)), key=lambda r: r["seq"], reverse=True)
    return {"data": [view(r) for r in records]}


def retrieve(tx: Tx, req: Request) -> dict:
    return view(_record(tx, req.params["id"]))


def delete(tx: Tx, req: Request) -> dict:
    record = _record(tx, req.params["id"])
    remove(tx, record)
    return {"id": record["id"], "deleted": True}


def content(tx: Tx, req: Request) -> bytes:
    """The raw bytes, whatever ``Accept`` asks for (the SDK sends ``application/binary``)."""
    record = get_record(tx, req.params["id"])
    if not visible(record):
        raise not_found(f"File {record['id']} not found.", param="id")
    return tx.read_blob(record["id"])
