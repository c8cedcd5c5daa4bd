"""Persistent emulator state: one JSON document plus blob files, shared safely by threads and processes.

Layout under ``state_dir``: ``state.json`` (metadata of files, uploads, jobs, models, the clock offset) and
``blobs/<id>`` (file bytes and upload parts). Every request runs inside :meth:`Store.transaction`: an in-process
lock plus a cross-process ``filelock``, a reload when another process replaced ``state.json`` (or a request
crashed half-way), and an atomic rewrite when the transaction changed something. The emulator clock is
``time.time()`` plus the stored offset, so an admin clock jump is seen by every process sharing the directory.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from filelock import FileLock

from ftops.emulator import spool
from ftops.emulator.apierror import ApiError
from ftops.emulator.config import EmulatorConfig
from ftops.emulator.spool import Content, Spool
from ftops.emulator.validation import Validations


def _empty() -> dict:
    return {"version": 1, "clock_offset": 0.0, "seq": 0, "files": {}, "uploads": {}, "jobs": {}, "models": {},
            "model_overrides": {}, "fail_next": [], "dialects": {}}  # dialects: each dialect's own records


_STALE = ("stale",)  # a stamp no state.json has: the next transaction reloads from disk


class Tx:
    """One locked view of the state: ``data`` to read and mutate, ``now`` fixed for the whole request."""

    def __init__(self, store: Store, data: dict, now: float):
        self.store = store
        self.cfg = store.cfg
        self.data = data
        self.now = now
        self.dirty = False

    def touch(self) -> None:
        self.dirty = True

    def next_seq(self) -> int:
        self.data["seq"] += 1
        self.touch()
        return self.data["seq"]

    def write_blob(self, blob_id: str, content: Content) -> None:
        self.store.write_blob(blob_id, content)

    def read_blob(self, blob_id: str) -> bytes:
        return self.store.blob_path(blob_id).read_bytes()

    def join_blobs(self, blob_ids: list[str], *, md5: bool = False) -> Spool:
        """The blobs one after the other, as a new file (copied in blocks, never whole in memory)."""
        return spool.join(self.store.root / "blobs", (self.store.blob_path(b) for b in blob_ids), md5=md5)

    def delete_blob(self, blob_id: str) -> None:
        self.store.blob_path(blob_id).unlink(missing_ok=True)


def new_id(prefix: str, n: int = 24) -> str:
    return prefix + secrets.token_hex(n // 2)


class Store:
    def __init__(self, cfg: EmulatorConfig):
        self.cfg = cfg
        self.root = Path(cfg.state_dir)
        (self.root / "blobs").mkdir(parents=True, exist_ok=True)
        spool.sweep(self.root / "blobs")
        self.path = self.root / "state.json"
        self._flock = FileLock(str(self.root / "state.lock"))
        self._tlock = threading.Lock()
        self._data: dict = _empty()
        self._stamp: tuple | None = None
        self.validations = Validations()  # file checks done by this process (ftops/emulator/validation.py)

    def blob_path(self, blob_id: str) -> Path:
        return self.root / "blobs" / blob_id

    def write_blob(self, blob_id: str, content: Content) -> None:
        if isinstance(content, Spool):
            content.adopt(self.blob_path(blob_id))
        else:
            self._atomic_write(self.blob_path(blob_id), content)

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self._tlock, self._flock:
            self._reload_if_changed()
            tx = Tx(self, self._data, time.time() + float(self._data.get("clock_offset", 0.0)))
            try:
                try:
                    yield tx
                except ApiError:
                    self._save(tx)  # handlers refuse before they mutate; keep what the clock sync did
                    raise
                self._save(tx)
            except ApiError:
                raise
            except BaseException:
                self._stamp = _STALE  # a crashed request (or save) leaves no half-made change: the next reloads
                raise

    def _save(self, tx: Tx) -> None:
        if tx.dirty:
            self._atomic_write(self.path, json.dumps(self._data, sort_keys=True).encode())
            self._stamp = self._stat()

    def _stat(self) -> tuple | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _reload_if_changed(self) -> None:
        stamp = self._stat()
        if stamp == self._stamp:
            return
        self._data = json.loads(self.path.read_text(encoding="utf-8")) if stamp else _empty()
        for key, default in _empty().items():  # a state file written before a key existed reads as its default
            self._data.setdefault(key, default)
        self._stamp = stamp

    @staticmethod
    def _atomic_write(path: Path, content: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(content)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
