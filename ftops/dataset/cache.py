"""Scan results kept under ``.ftops/dataset/``, keyed by the file's content hash and everything else the scan
depends on, so an unchanged file costs one stat on the next plan. A cache that cannot be read or written only
costs time."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from ftops.dataset.report import FileReport

VERSION = 1  # bump when the checks change what they report
KEEP_FILES = 200  # newest files kept; older ones are removed when a result is stored


def directory(cache_dir: Path) -> Path:
    return Path(cache_dir) / "dataset"


def scan_key(**inputs) -> str:
    text = json.dumps({"version": VERSION, **inputs}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def index_path(cache_dir: Path, sha256: str) -> Path:
    return directory(cache_dir) / f"{sha256}.index"


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
        _prune(folder)
    except OSError:
        pass


def _prune(folder: Path) -> None:
    files = sorted(folder.glob("*.*"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[KEEP_FILES:]:
        old.unlink(missing_ok=True)
