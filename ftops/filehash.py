"""sha256 of dataset files, cached by (path, size, mtime_ns, inode) under ``.ftops/`` so an unchanged multi-GB
file is not re-read on every plan."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ftops.errors import DatasetError

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

    def part(self, size: int) -> "PartReader":
        """The next ``size`` bytes (fewer at the end of the file) as a file of their own, for one request of a
        multi-part upload: the HTTP client reads it in small blocks, so a part is never held whole in memory."""
        return PartReader(self, size)


class FileShrank(DatasetError):
    """The file ended before the bytes an upload declared for it were read."""


class PartReader:
    """A window of ``size`` bytes of a HashingReader, from its current position: reads go through (and are hashed
    by) the reader, in order. Seeking back to 0 (an HTTP client sending the part again) restarts the part: the
    reader's position and hash go back to where the part began, so the hash covers the bytes of the attempt that
    was sent last."""

    def __init__(self, reader: HashingReader, size: int):
        self._reader = reader
        self._start = reader.tell()
        self.size = size
        self._pos = 0
        self._hash, self._count = reader._hash.copy(), reader.count

    def read(self, size: int = -1) -> bytes:
        left = self.size - self._pos
        n = left if size is None or size < 0 else min(size, left)
        if n <= 0:
            return b""
        if self._reader.tell() != self._start + self._pos:
            raise io.UnsupportedOperation("a part is read from its start, in order")
        data = self._reader.read(n)
        if len(data) < n:
            raise FileShrank(f"{self._reader.path}: the file got shorter while it was being uploaded; nothing was "
                             "trained on it", hint="run `ftops plan` again")
        self._pos += n
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        target = offset if whence == os.SEEK_SET else self._pos + offset if whence == os.SEEK_CUR \
            else self.size + offset
        if target == 0:
            self._reader._fh.seek(self._start)
            self._reader._hash, self._reader.count = self._hash.copy(), self._count
        self._pos = max(0, target)  # anywhere else only to measure it: reading from there is refused
        return self._pos

    def tell(self) -> int:
        return self._pos
