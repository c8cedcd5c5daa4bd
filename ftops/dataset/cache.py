"""Scan results kept under ``.ftops/dataset/``, keyed by the file's content hash and everything else the scan
depends on, so an unchanged file costs one stat on the next plan. A cache that cannot be read or written only
costs time."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor, TimeoutError
from contextlib import contextmanager
from pathlib import Path

from ftops.dataset.report import FileReport
from ftops.errors import DatasetError
from ftops.filehash import FileDigest, HashCache

VERSION = 5  # bump when the checks change what they report (or how examples are hashed in the index)
KEEP_RESULTS = 2000  # newest stored results kept (and as many example indexes); older ones are removed
FAST_LOOKUP_SECONDS = 0.05  # how long a scan waits (its workers starting meanwhile) for the sha256 of a file the
# hash cache does not know (touched, checked out again), whose result may be stored under its content


def directory(cache_dir: Path) -> Path:
    return Path(cache_dir) / "dataset"


def scan_key(**inputs) -> str:
    text = json.dumps({"version": VERSION, **inputs}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def index_path(cache_dir: Path, sha256: str) -> Path:
    return directory(cache_dir) / f"{sha256}.v{VERSION}.index"


def load(cache_dir: Path | None, key: str) -> FileReport | None:
    if cache_dir is None:
        return None
    try:
        return FileReport.from_json(json.loads((directory(cache_dir) / f"{key}.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store(cache_dir: Path | None, key: str, report: FileReport) -> None:
    if cache_dir is None:
        return
    folder = directory(cache_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".scan-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(report.to_json(), fh)
        os.replace(tmp, folder / f"{key}.json")
        _prune_once(folder)
    except OSError:
        pass


_pruned: set[Path] = set()


def _prune_once(folder: Path) -> None:
    """Keep the newest KEEP_RESULTS results and indexes; runs once per folder and process, so storing n results
    costs one listing, not n."""
    if folder in _pruned:
        return
    _pruned.add(folder)
    for suffix in (".json", ".index"):
        entries = [e for e in os.scandir(folder) if e.name.endswith(suffix) and not e.name.startswith(".")]
        if len(entries) <= KEEP_RESULTS:
            continue
        entries.sort(key=lambda e: e.stat().st_mtime, reverse=True)
        for old in entries[KEEP_RESULTS:]:
            Path(old.path).unlink(missing_ok=True)


@contextmanager
def work_dir(cache_dir: Path | None):
    """A scratch directory for one scan (under the cache dir when there is one), removed afterwards."""
    parent = directory(cache_dir) if cache_dir is not None else None
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="ftops-scan-", dir=parent))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


class Lookup:
    """The file's sha256 (computed in a thread while the scan starts) and the stored result it keys."""

    def __init__(self, path: Path, cache_dir: Path | None, inputs: dict):
        self.path, self.cache_dir, self.inputs = path, cache_dir, inputs
        self._hashes = HashCache(cache_dir)
        self._thread: ThreadPoolExecutor | None = None
        try:
            known = self._hashes.known(path)
        except OSError:
            known = None
        if known is not None:  # unchanged since last time: no thread, no read
            self._digest: Future = Future()
            self._digest.set_result(known)
        else:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="ftops-sha256")
            self._digest = self._thread.submit(self._hashes.digest, path)
        self._looked = False

    def digest(self) -> FileDigest:
        try:
            digest = self._digest.result()
        except OSError as exc:
            raise DatasetError(f"{self.path}: cannot read it ({exc.strerror or exc})") from None
        self._hashes.save()
        return digest

    def key(self) -> str:
        return scan_key(sha256=self.digest().sha256, **self.inputs)

    def index_path(self, work: Path) -> Path:
        """Where the examples' hash index goes: kept in the cache, or in the scan's work dir."""
        if self.cache_dir is None:
            return work / "index"
        return index_path(self.cache_dir, self.digest().sha256)

    def cached(self, wait: float = 0.0) -> FileReport | None:
        """The stored result, once the digest is known (waiting at most ``wait`` seconds for it)."""
        if self._looked or self.cache_dir is None:
            return None
        try:
            self._digest.result(timeout=wait)
        except TimeoutError:
            return None
        except OSError:
            pass
        self._looked = True
        return load(self.cache_dir, self.key())

    def close(self) -> None:
        if self._thread is not None:
            self._thread.shutdown(wait=True, cancel_futures=True)
