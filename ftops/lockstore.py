"""The lockfile during an apply: one in-memory copy, changed one entry at a time, written to disk after every
change (atomically), so whatever happens next the file on disk tells the truth."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Callable

from ftops.lockfile import LockEntry, Lockfile, remove_stale_temp_files, write_lockfile

log = logging.getLogger("ftops.lockstore")


class LockStore:
    """Create it while holding the project lock: it clears temp files an apply killed mid-write left behind.

    ``deferred``: changes are kept in memory until ``flush()`` (apply flushes once per round, so one apply writes
    the file a bounded number of times, not once per step per spec; every job carries its launch key, so what a
    crash loses between two flushes the provider still knows)."""

    def __init__(self, path: Path, lock: Lockfile, *, deferred: bool = False):
        self.path = path
        remove_stale_temp_files(path)
        self._lock = lock
        self._mutex = threading.Lock()
        self._deferred = deferred
        self._dirty = False
        self._stale = False  # minor changes not written yet
        self.writes = 0  # how many times the file was written
        self.bytes_written = 0  # and how many bytes that came to (`-vv` logs both after every write)

    @property
    def current(self) -> Lockfile:
        return self._lock

    def get(self, name: str) -> LockEntry | None:
        return self._lock.get(name)

    def update(self, name: str, change: Callable[[LockEntry | None], LockEntry | None], *,
               news: bool = True) -> LockEntry | None:
        """Apply ``change`` to one entry (None removes it) and write the lockfile before returning (deferred
        stores: at the next flush). ``news=False`` marks a change that alone is not worth a write (a job in
        flight moving from queued to running): it goes out with the next write, or the final one."""
        with self._mutex:
            entry = change(self._lock.get(name))
            self._lock = self._lock.with_entry(entry) if entry is not None else self._lock.without(name)
            if news or not self._deferred:
                self._write()
            else:
                self._stale = True
            return entry

    def _write(self) -> None:
        if self._deferred:
            self._dirty = True
        else:
            self._count(write_lockfile(self.path, self._lock))

    def flush(self, *, final: bool = False) -> None:
        """Write what changed since the last flush (deferred stores); ``final`` writes minor changes too."""
        with self._mutex:
            if self._dirty or (final and self._stale):
                self._count(write_lockfile(self.path, self._lock))
                self._stale = False
            self._dirty = False

    def _count(self, written: int) -> None:
        if written:
            self.writes += 1
            self.bytes_written += written
            log.debug("wrote %s: %d bytes (write %d, %d bytes in all)", self.path.name, written, self.writes,
                      self.bytes_written)

    def set_project(self, project: str) -> None:
        """Record the project identity (written with the next change, not on its own)."""
        with self._mutex:
            self._lock = self._lock.with_project(project)

    def rename(self, old: str, new: str) -> None:
        """Move an entry to a new name (a spec renamed with ``moved_from``), in one write."""
        with self._mutex:
            entry = self._lock.get(old)
            if entry is None:
                return
            self._lock = self._lock.without(old).with_entry(entry.with_(name=new))
            self._write()

    def file_id(self, provider: str, sha256: str) -> str | None:
        """A file id already recorded for this content on this provider (by any entry)."""
        for entry in self._lock.entries.values():
            for inputs in (entry.inputs, (entry.pending or {}).get("inputs")):
                for role in ("training_file", "validation_file"):
                    record = (inputs or {}).get(role) or {}
                    if record.get("sha256") == sha256 and provider in (record.get("file_ids") or {}):
                        return record["file_ids"][provider]
        return None
