"""Files the emulator holds, whatever API received them: records in the state, bytes in ``blobs/<id>``."""

from __future__ import annotations

from ftops.emulator.apierror import not_found
from ftops.emulator.spool import Content, sha256_of, size_of
from ftops.emulator.state import Tx, new_id


def add_file(tx: Tx, filename: str, purpose: str, content: Content, expires_at: int | None = None,
             prefix: str = "file-", file_id: str | None = None) -> dict:
    """Store ``content`` (bytes, or a file received to disk, which becomes the blob) as a new file (under
    ``file_id`` when the dialect chose it already) and return its record; the record keeps the content's sha256
    (for APIs that find files by checksum, and to key validations)."""
    file_id = file_id or new_id(prefix)
    size, sha256 = size_of(content), sha256_of(content)
    tx.write_blob(file_id, content)
    record = {"id": file_id, "object": "file", "bytes": size, "created_at": int(tx.now),
              "filename": filename, "purpose": purpose, "status": "processed", "expires_at": expires_at,
              "seq": tx.next_seq(), "sha256": sha256}
    tx.data["files"][file_id] = record
    return record


def get_record(tx: Tx, file_id: str) -> dict:
    record = tx.data["files"].get(file_id)
    if record is None:
        raise not_found(f"No such File object: {file_id}", param="id")
    return record


def remove(tx: Tx, record: dict) -> None:
    del tx.data["files"][record["id"]]
    tx.delete_blob(record["id"])
    tx.touch()


def expire(tx: Tx) -> None:
    """Files past their ``expires_at`` (an upload's ``expires_after``) are gone, as on the provider: list, get and
    content answer as for a file that never was, and a job that still needed one fails its validation."""
    for record in [r for r in tx.data["files"].values() if r.get("expires_at") is not None
                   and r["expires_at"] <= tx.now]:
        remove(tx, record)
