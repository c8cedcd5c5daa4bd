"""Validating a job's files once per file, outside the state lock.

A file's check result depends on its bytes and on what it is checked for (method, base model, the model's
per-example limit), so results are kept in memory under the file's id and sha256 plus those; the overlap between a
training and a validation file under both files' ids and hashes. A second job on the same file reads the result,
not the file. Each emulator process keeps its own results (files are immutable, so processes sharing a state
directory agree).

Checking a large file takes seconds, too long to hold the state lock that every request takes. So a job's files
are checked in a background thread when the job is created; and when a request finds a job due for validation
whose result is not there yet, it raises :class:`Unvalidated` inside its transaction: the server rolls the
transaction back, runs the check without the lock (or waits for the thread already running it), and runs the
request again, which now finds the result.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ftops.catalog import ModelInfo
from ftops.emulator import datasets
from ftops.emulator.datasets import FileProblem, Summary

if TYPE_CHECKING:
    from ftops.emulator.state import Tx

DELETED = "A file of this job was deleted before it could be validated."
MAX_RESULTS = 4096


class Unvalidated(Exception):
    """A validation this request needs has not been run: run ``work`` without the lock, then the request again."""

    def __init__(self, work: Callable[[], None]):
        super().__init__("a file is being validated")
        self.work = work


@dataclass(frozen=True)
class FileRef:
    id: str
    sha256: str
    path: Path
    param: str  # training_file | validation_file


@dataclass(frozen=True)
class Needs:
    """What one job's validation checks: its files, for a method on a base model with its per-example limit."""

    train: FileRef
    valid: FileRef | None
    method: str
    info: ModelInfo
    limit: int | None

    def file_key(self, ref: FileRef) -> tuple:
        return (ref.id, ref.sha256, ref.param, self.method, self.info.name, self.info.encoding,
                self.info.formats, self.limit)

    def overlap_key(self) -> tuple:
        assert self.valid is not None
        return (self.train.id, self.train.sha256, self.valid.id, self.valid.sha256)


class Validations:
    """The results of one emulator process, and how many files it has read to get them."""

    def __init__(self) -> None:
        self._results: dict[tuple, Any] = {}
        self._lock = threading.Lock()  # one check at a time: a second asker of the same result waits for it
        self.scans = 0  # files read

    def get(self, key: tuple) -> Any:
        return self._results.get(key)

    def summary(self, needs: Needs, ref: FileRef) -> Summary:
        """The file's summary, or its FileProblem raised; Unvalidated when it has not been checked."""
        found = self._results.get(needs.file_key(ref))
        if found is None:
            raise Unvalidated(lambda: self.run(needs))
        if isinstance(found, FileProblem):
            raise found
        return found

    def check(self, needs: Needs, min_examples: int) -> Summary:
        """The training file's summary once every check of the job passed; the first failure as FileProblem (in
        the order a whole check would find them: training file, its size, validation file, overlap)."""
        train = self.summary(needs, needs.train)
        if train.examples < min_examples:
            raise datasets.too_few(train.examples, min_examples)
        if needs.valid is not None:
            self.summary(needs, needs.valid)
            shared = self._results.get(needs.overlap_key())
            if shared is None:
                raise Unvalidated(lambda: self.run(needs))
            if shared[0]:
                raise datasets.shared_problem(*shared)
        return train

    def prefetch(self, needs: Needs) -> None:
        """Run the job's checks in a background thread, unless they have been run."""
        if any(self._missing(needs)):
            threading.Thread(target=self._quietly, args=(needs,), name="ftops-emulator-validation",
                             daemon=True).start()

    def _quietly(self, needs: Needs) -> None:
        try:
            self.run(needs)
        except Exception:  # noqa: BLE001 - a request that needs the result runs it again and reports
            pass

    def _missing(self, needs: Needs) -> tuple[bool, bool, bool]:
        """Whether the training file, the validation file and their overlap still need checking (an overlap
        does not when either file fails its own check)."""
        train = self._results.get(needs.file_key(needs.train))
        if needs.valid is None:
            return train is None, False, False
        valid = self._results.get(needs.file_key(needs.valid))
        failed = isinstance(train, FileProblem) or isinstance(valid, FileProblem)
        return train is None, valid is None, not failed and needs.overlap_key() not in self._results

    def run(self, needs: Needs) -> None:
        """Check what is missing of ``needs``, reading each file at most once."""
        with self._lock:
            need_train, need_valid, need_overlap = self._missing(needs)
            overlap = datasets.Overlap() if need_overlap else None
            if needs.valid is not None and (need_valid or need_overlap):
                result = self._scan(needs, needs.valid, count=need_valid,
                                    visit=overlap.collect if overlap else None)
                if need_valid:
                    self._store(needs.file_key(needs.valid), result)
                if isinstance(result, FileProblem):
                    overlap = None  # the job fails on the validation file; no overlap to report
            if need_train or overlap is not None:
                result = self._scan(needs, needs.train, count=need_train,
                                    visit=overlap.match if overlap else None)
                if need_train:
                    self._store(needs.file_key(needs.train), result)
                if overlap is not None and not isinstance(result, FileProblem):
                    self._store(needs.overlap_key(), overlap.result())

    def _scan(self, needs: Needs, ref: FileRef, *, count: bool, visit) -> Summary | FileProblem:
        self.scans += 1
        try:
            return datasets.scan(ref.path, param=ref.param, method=needs.method, info=needs.info,
                                 limit=needs.limit, count=count, visit=visit)
        except FileProblem as problem:
            return problem
        except FileNotFoundError:
            return FileProblem(DELETED, "training_file", "invalid_training_file")
        except Exception as exc:  # noqa: BLE001 - user data must never wedge the server
            return FileProblem(f"The training file could not be validated ({type(exc).__name__}).", "training_file",
                               "invalid_training_file")

    def _store(self, key: tuple, result: Any) -> None:
        if len(self._results) >= MAX_RESULTS:
            self._results.clear()
        self._results[key] = result


def file_ref(tx: Tx, file_id: str | None, param: str) -> FileRef | None:
    """The stored file ``file_id`` (None when it is not there: deleted)."""
    record = tx.data["files"].get(file_id or "")
    if record is None:
        return None
    sha256 = record.get("sha256") or f"bytes:{record.get('bytes')}"  # a record from before hashes were kept
    return FileRef(record["id"], sha256, tx.store.blob_path(record["id"]), param)
