"""Fireworks datasets: create (client-chosen ``datasetId``), ``:upload`` (multipart, up to 150 MB),
``:getUploadEndpoint`` (signed URLs this emulator serves itself, for a streamed ``PUT``), ``:validateUpload``
(UPLOADING -> READY), get, list, delete.

A READY dataset's content is its file in the emulator's file store (so jobs read it like any file, and the
neutral ``core`` state view lists it); an upload into a READY dataset is refused. The signed URLs are plain http
on loopback: the SDK's own ``upload_dataset_shards`` helper insists on https and cannot use them, ftops's client
accepts loopback http.
"""

from __future__ import annotations

import secrets

from ftops.emulator.dialects.fireworks.wire import (body, check_body, check_id, error, invalid, not_found, page,
                                                    records, rfc3339)
from ftops.emulator.filestore import add_file, remove
from ftops.emulator.httpio import MB, Request
from ftops.emulator.spool import Content, size_of
from ftops.emulator.state import Tx, new_id

UPLOAD_LIMIT = 150 * MB
SIGNED_LIMIT = 1024 * MB
SIGNED_LIFETIME = 3600
FORMATS = ("FORMAT_UNSPECIFIED", "CHAT", "COMPLETION", "RL")
DATASET_FIELDS = {"displayName": "string", "evalProtocol": "any", "evaluationResult": "object",
                  "exampleCount": "int64", "externalUrl": "string", "format": FORMATS, "sourceJobName": "string",
                  "splitted": "object", "transformed": "object", "userUploaded": "object"}
CREATE_FIELDS = {"dataset": DATASET_FIELDS, "datasetId": "string", "sourceDatasetId": "string"}


def name_of(req: Request) -> str:
    return f"accounts/{req.params['acct']}/datasets/{req.params['id']}"


def view(record: dict) -> dict:
    out = {k: v for k, v in record.items() if k in DATASET_FIELDS}
    out.update(name=record["name"], createTime=rfc3339(record["created"]), updateTime=rfc3339(record["updated"]),
               state=record["state"], status={"code": "OK", "message": ""})
    if record.get("sha256"):
        out["estimatedTokenCount"] = str(record["tokens"])
    return out


def get_record(tx: Tx, name: str) -> dict:
    record = records(tx)["datasets"].get(name)
    if record is None:
        raise not_found("Dataset", name)
    return record


def create(tx: Tx, req: Request) -> dict:
    data = check_body(body(req), CREATE_FIELDS)
    if not isinstance(data.get("dataset"), dict):
        raise invalid("dataset is required")
    ds_id = check_id(data.get("datasetId"), "datasetId")
    name = f"accounts/{req.params['acct']}/datasets/{ds_id}"
    if name in records(tx)["datasets"]:
        raise error("ALREADY_EXISTS", f"Dataset {name!r} already exists")
    record = {**data["dataset"], "name": name, "created": tx.now, "updated": tx.now, "state": "UPLOADING",
              "shards": {}, "registered": None, "uploads": 0, "file": None, "sha256": None, "tokens": 0,
              "seq": tx.next_seq()}
    record.setdefault("format", "CHAT")
    if "exampleCount" in record:
        record["exampleCount"] = str(record["exampleCount"])
    records(tx)["datasets"][name] = record
    tx.touch()
    return view(record)


def _uploading(tx: Tx, req: Request) -> dict:
    record = get_record(tx, name_of(req))
    if record["state"] == "READY":
        raise error("FAILED_PRECONDITION", f"Dataset {record['name']!r} is READY; its content cannot be changed")
    return record


def _put_shard(tx: Tx, record: dict, filename: str, content: Content) -> None:
    old = record["shards"].get(filename)
    if old:
        tx.delete_blob(old)
    blob = new_id("fwshard-")
    tx.write_blob(blob, content)
    record["shards"][filename] = blob
    record["uploads"] += 1
    record["updated"] = tx.now
    tx.touch()


def upload(tx: Tx, req: Request) -> dict:
    record = _uploading(tx, req)
    part = req.multipart().get("file")
    if part is None or not part.filename:
        raise invalid("file is required (a multipart part named 'file' with a filename)")
    for blob in record["shards"].values():
        tx.delete_blob(blob)
    record["shards"], record["registered"] = {}, None
    _put_shard(tx, record, part.filename, part.content)
    return {"id": req.params["id"], "object": "file", "bytes": part.size, "created_at": int(tx.now),
            "filename": part.filename, "purpose": "fine-tune"}


def upload_endpoint(tx: Tx, req: Request) -> dict:
    record = _uploading(tx, req)
    data = check_body(body(req), {"filenameToSize": "object", "readMask": "string"})
    sizes = data.get("filenameToSize")
    if not isinstance(sizes, dict) or not sizes:
        raise invalid("filenameToSize is required: {filename: size in bytes}")
    for filename, size in sizes.items():
        if not isinstance(size, (str, int)) or isinstance(size, bool) or not str(size).isdigit():
            raise invalid(f"Invalid value at 'filename_to_size[{filename}]' (TYPE_INT64), {size!r}")
    signed = records(tx)["signed"]
    for token in [t for t, s in signed.items() if s["dataset"] == record["name"]]:
        del signed[token]  # each call replaces the registered files
    urls = {}
    origin = f"http://{req.headers.get('host') or '127.0.0.1'}"
    for filename, size in sizes.items():
        token = secrets.token_urlsafe(24)
        signed[token] = {"dataset": record["name"], "filename": filename, "size": int(size),
                         "expires": tx.now + SIGNED_LIFETIME}
        urls[filename] = f"{origin}/_signed/{token}"
    record["registered"] = sorted(sizes)
    tx.touch()
    return {"filenameToSignedUrls": urls}


def signed_put(tx: Tx, req: Request) -> dict:
    """The storage bucket behind a signed URL (no Fireworks key; the URL is the credential)."""
    grant = records(tx)["signed"].get(req.params["token"])
    if grant is None or tx.now > grant["expires"]:
        raise error("PERMISSION_DENIED", "The signed URL is invalid or has expired.")
    if (req.headers.get("content-type") or "").split(";")[0].strip() != "application/octet-stream":
        raise error("PERMISSION_DENIED", "The request signature does not match: send Content-Type: "
                                         "application/octet-stream, as the URL was signed for.")
    wanted = req.headers.get("x-goog-content-length-range")
    if size_of(req.payload) != grant["size"] or (wanted and wanted != f"{grant['size']},{grant['size']}"):
        raise invalid(f"Expected {grant['size']} bytes for {grant['filename']}, got {size_of(req.payload)}.")
    record = records(tx)["datasets"].get(grant["dataset"])
    if record is None or record["state"] == "READY":
        raise error("FAILED_PRECONDITION", f"Dataset {grant['dataset']!r} no longer accepts uploads.")
    _put_shard(tx, record, grant["filename"], req.payload)
    return {}


def validate(tx: Tx, req: Request) -> dict:
    record = get_record(tx, name_of(req))
    check_body(body(req), {})
    if record["state"] == "READY":
        return {}
    missing = [f for f in record["registered"] or [] if f not in record["shards"]]
    if not record["shards"] or missing:
        raise error("FAILED_PRECONDITION", f"Dataset {record['name']!r} has no uploaded file"
                    + (f" ({', '.join(missing)} not uploaded)" if missing else ""))
    content = tx.join_blobs([record["shards"][f] for f in sorted(record["shards"])])  # on disk, in blocks
    req.spools.append(content)  # deleted with the request unless it becomes the file
    if "exampleCount" not in record:
        with content.open() as fh:
            record["exampleCount"] = str(sum(1 for line in fh if line.strip()))
    stored = add_file(tx, record["name"], "fine-tune", content, prefix="fwds-")
    record.update(state="READY", file=stored["id"], sha256=content.sha256, updated=tx.now,
                  tokens=content.size // 4)
    for blob in record["shards"].values():
        tx.delete_blob(blob)
    record["shards"] = {}
    tx.touch()
    return {}


def retrieve(tx: Tx, req: Request) -> dict:
    return view(get_record(tx, name_of(req)))


def list_datasets(tx: Tx, req: Request) -> dict:
    prefix = f"accounts/{req.params['acct']}/datasets/"
    return page(req, "datasets", [view(r) for n, r in records(tx)["datasets"].items() if n.startswith(prefix)],
                filterable=("state", "displayName", "format"))


def delete(tx: Tx, req: Request) -> dict:
    record = get_record(tx, name_of(req))
    for blob in record["shards"].values():
        tx.delete_blob(blob)
    if record["file"] and record["file"] in tx.data["files"]:
        remove(tx, tx.data["files"][record["file"]])
    del records(tx)["datasets"][record["name"]]
    tx.touch()
    return {}
