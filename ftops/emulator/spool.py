"""Large bodies on disk: an upload never sits whole in the emulator's memory.

A route whose body may be large (an upload) has it received, in blocks, into temporary files beside the blobs
(``blobs/.incoming-*``, see ``httpio.receive``), hashed as they arrive, before the request takes the state lock; a
handler then adopts such a file as a blob (a rename, no copy). Whatever a request received and did not adopt is
deleted when the request ends. Blobs are joined (upload parts, dataset shards) by copying in blocks.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path
from typing import BinaryIO, Iterable

BLOCK = 1 << 20
INCOMING = ".incoming-"
STALE_AFTER = 24 * 3600  # an incoming file this old belongs to no live request (a crashed emulator's)


class Spool:
    """Bytes in a file of their own, with their size and sha256 (and md5 when asked), known once written."""

    def __init__(self, directory: Path, *, md5: bool = False):
        fd, name = tempfile.mkstemp(dir=directory, prefix=INCOMING)
        self.path = Path(name)
        self._fh: BinaryIO | None = os.fdopen(fd, "wb")
        self._sha = hashlib.sha256()
        self._md5 = hashlib.md5() if md5 else None
        self.size = 0
        self.sha256 = ""
        self.md5 = ""
        self.adopted = False

    @classmethod
    def existing(cls, path: Path, size: int, sha256: str) -> Spool:
        """A file already on disk whose size and sha256 are known (an upload checked when it arrived)."""
        spool = cls.__new__(cls)
        spool.path, spool._fh, spool.size, spool.sha256, spool.md5, spool.adopted = path, None, size, sha256, "", False
        return spool

    def write(self, data: bytes) -> None:
        assert self._fh is not None
        self._fh.write(data)
        self._sha.update(data)
        if self._md5 is not None:
            self._md5.update(data)
        self.size += len(data)

    def finish(self) -> Spool:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
            self.sha256 = self._sha.hexdigest()
            self.md5 = self._md5.hexdigest() if self._md5 is not None else ""
        return self

    def open(self) -> BinaryIO:
        return open(self.path, "rb")

    def read(self) -> bytes:
        """All of it (for the small bodies handlers need as bytes)."""
        return self.path.read_bytes()

    def adopt(self, target: Path) -> None:
        """Make it the file ``target`` (a blob): a rename, no copy."""
        self.finish()
        os.replace(self.path, target)
        self.adopted = True

    def discard(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if not self.adopted:
            self.path.unlink(missing_ok=True)


Content = bytes | Spool  # what a handler stores: a small body in memory, or a received file


def size_of(content: Content) -> int:
    return content.size if isinstance(content, Spool) else len(content)


def sha256_of(content: Content) -> str:
    return content.sha256 if isinstance(content, Spool) else hashlib.sha256(content).hexdigest()


def join(directory: Path, sources: Iterable[Path], *, md5: bool = False) -> Spool:
    """One file made of ``sources`` in order, copied in blocks (the parts of an upload, the shards of a dataset)."""
    spool = Spool(directory, md5=md5)
    try:
        for source in sources:
            with open(source, "rb") as fh:
                while block := fh.read(BLOCK):
                    spool.write(block)
        return spool.finish()
    except BaseException:
        spool.discard()
        raise


def sweep(directory: Path) -> None:
    """Delete incoming files left behind by an emulator that crashed while receiving them."""
    cutoff = time.time() - STALE_AFTER
    for leftover in directory.glob(INCOMING + "*"):
        try:
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()
        except OSError:
            pass
