"""sha256 of dataset files, cached by (path, size, mtime_ns, inode) under ``.ftops/`` so an unchanged multi-GB
file is not re-read on every plan."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

_CHUNK = 1 << 20
_LOCK = threading.Lock()
_READ: dict[tuple, dict[str, str]] = {}  # the last hashes.json read, by its stat signature
# Told how far each upload has got (path, bytes read, total bytes): the CLI's live progress bars on a terminal
# (ftops.progress); None elsewhere.
upload_watcher: Callable[[Path, int, int], None] | None = None


@dataclass(frozen=True)
class FileDigest:
    path: Path
    sha256: str
    bytes: int


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


class HashCache:
    """A small JSON map from stat signature to sha256, stored in ``<state_dir>/hashes.json``."""

    def __init__(self, state_dir: Path | None):
        self._file = Path(state_dir) / "hashes.json" if state_dir else None
        self._entries: dict[str, str] | None = None
        self._dirty = False

    def _load(self) -> dict[str, str]:
        if self._entries is None:
            self._entries = {}
            if self._file:
                try:
                    st = self._file.stat()
                    signature = (str(self._file), st.st_size, st.st_mtime_ns, st.st_ino)
                    if signature not in _READ:  # a plan of n files reads the map once, not n times
                        data = json.loads(self._file.read_text(encoding="utf-8"))
                        _READ.clear()
                        _READ[signature] = {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
                    self._entries = dict(_READ[signature])
                except (OSError, ValueError):
                    self._entries = {}
        return self._entries

    @staticmethod
    def _key(path: Path, st: os.stat_result) -> str:
        # abspath, not resolve(): the inode already tells links apart, and resolve() costs a syscall per part
        return f"{os.path.abspath(path)}|{st.st_size}|{st.st_mtime_ns}|{st.st_ino}"

    def known(self, path: Path) -> FileDigest | None:
        """The cached digest when the file is unchanged since it was hashed; None (without reading it) else."""
        path = Path(path)
        st = path.stat()
        with _LOCK:
            cached = self._load().get(self._key(path, st))
        return FileDigest(path=path, sha256=cached, bytes=st.st_size) if cached else None

    def digest(self, path: Path) -> FileDigest:
        path = Path(path)
        st = path.stat()
        key = self._key(path, st)
        with _LOCK:
            entries = self._load()
            cached = entries.get(key)
        if cached is None:
            cached = sha256_file(path)
            with _LOCK:
                entries[key] = cached
                self._dirty = True
        return FileDigest(path=path, sha256=cached, bytes=st.st_size)

    def save(self) -> None:
        if not (self._file and self._dirty and self._entries is not None):
            return
        with _LOCK:
            live = {k: v for k, v in self._entries.items() if os.path.exists(k.split("|", 1)[0])}
            try:
                self._file.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=self._file.parent, prefix=".hashes-")
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(live, fh, sort_keys=True)
                os.replace(tmp, self._file)
                self._dirty = False
            except OSError:
                pass  # a cache that cannot be written only costs time


class HashingReader:
    """A dataset opened for upload that hashes exactly the bytes handed to the uploader, so the bytes sent can be
    checked against the bytes the plan hashed (a file edited at the confirmation prompt is refused, not trained
    under the old hash). Rewinding to the start restarts the hash."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._fh = open(path, "rb")
        self._hash = hashlib.sha256()
        self.count = 0
        self.size = os.fstat(self._fh.fileno()).st_size

    def read(self, size: int = -1) -> bytes:
        data = self._fh.read(size)
        self._hash.update(data)
        self.count += len(data)
        watcher = upload_watcher
        if watcher is not None:
            watcher(self.path, self.count, self.size)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        position = self._fh.seek(offset, whence)
        if position == 0:
            self._hash, self.count = hashlib.sha256(), 0
        return position

    def tell(self) -> int:
        return self._fh.tell()

    def fileno(self) -> int:
        return self._fh.fileno()

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> "HashingReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def sent_matches(self, sha256: str) -> bool:
        """True when everything was read and it hashes to ``sha256`` (call after the upload)."""
        return self._fh.read(1) == b"" and self._hash.hexdigest() == sha256
