"""A provider's uploaded dataset files by name, listed once per client: what OpenAI-shaped and Together clients look
in before uploading (files are content-addressed by name, so one already there is reused, never sent again)."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterable

from ftops.providers.answers import num, text
from ftops.providers.base import RemoteFile
from ftops.providers.http import RetryPolicy
from ftops.providers.once import create_once


def remote_file(item: dict[str, Any], *, filename: str | None = None, size: int | None = None) -> RemoteFile:
    """An OpenAI-shaped file object (``id``, ``bytes``, ``filename``, ``created_at``) as a RemoteFile."""
    return RemoteFile(id=item["id"], bytes=num(item.get("bytes")) or size or 0,
                      filename=filename or text(item.get("filename")) or "", created_at=num(item.get("created_at")))


class FileListing:
    """``fetch`` lists the provider's files, oldest first; the first file of a name is the one kept."""

    def __init__(self, fetch: Callable[[], Iterable[RemoteFile]]):
        self._fetch = fetch
        self._files: dict[str, RemoteFile] | None = None
        self._lock = threading.Lock()

    def by_name(self) -> dict[str, RemoteFile]:
        """Listed once. Apply uploads from several threads: they wait for one complete listing (a half-filled one
        would say "not there" and cause a second upload)."""
        with self._lock:
            if self._files is None:
                files: dict[str, RemoteFile] = {}
                for remote in self._fetch():
                    files.setdefault(remote.filename, remote)
                self._files = files
            return self._files

    def forget(self) -> None:
        """List again next time (another machine may have uploaded since)."""
        with self._lock:
            self._files = None

    def remember(self, remote: RemoteFile) -> None:
        with self._lock:
            if self._files is not None:
                self._files[remote.filename] = remote

    def find(self, name: str, size: int, *, fresh: bool = False) -> RemoteFile | None:
        """The file called ``name`` with ``size`` bytes; ``fresh`` lists again first."""
        if fresh:
            self.forget()
        found = self.by_name().get(name)
        return found if found and found.bytes == size else None

    def stage(self, name: str, size: int, send: Callable[[], RemoteFile], *, policy: RetryPolicy,
              settle: float) -> RemoteFile:
        """The file called ``name`` if it is there (``reused``), else ``send()`` it once: after an ambiguous failure
        the files are listed again before it is sent again."""
        existing = self.find(name, size)
        if existing:
            return replace(existing, reused=True)
        remote = create_once(send, lambda: self.find(name, size, fresh=True), policy=policy,
                             what=f"uploading {name}", settle=settle)
        self.remember(remote)
        return remote

    def staged(self, path: Path, sha256: str) -> str | None:
        """The id of the file this content was uploaded as (its name starts with ``sha256[:16]-``), or None."""
        size, prefix = path.stat().st_size, f"{sha256[:16]}-"
        found = next((f for name, f in self.by_name().items() if name.startswith(prefix) and f.bytes == size), None)
        return found.id if found else None
