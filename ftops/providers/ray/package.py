"""Zip packages for the Ray job server (``PUT /api/packages/gcs/<name>``), built deterministically: fixed
timestamps and permissions, sorted names, one compression level, so the same content always gives the same bytes.

* A dataset package holds one file, ``data.jsonl``. It is named after the dataset's sha256 (known from the plan),
  so whether the cluster has it is one GET, without reading the file. It is built while it is sent: the file is
  read once, through a HashingReader, and the package is abandoned before its last bytes when what was read does
  not hash to the planned sha256 (the job server stores a package only once its body is complete).
* A trainer package holds ftops's launcher (and, for the built-in trainer, its TRL script) and the custom
  trainer's working_dir. It is small; it is built in a spooled temporary file and named after the hash of its
  bytes.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO, Iterator

from ftops.errors import ConfigError, DatasetError
from ftops.filehash import HashingReader
from ftops.providers.ray.wire import DATA_FILE, LAUNCHER, TRL_SCRIPT

PACKAGE_LIMIT = 100 * 1024 * 1024  # the job server's request body limit (aiohttp client_max_size in Ray 2.60)
DATA_FORMAT = 1  # bump when the layout of a dataset package changes (its name changes with it)
LEVEL = 6
CHUNK = 1 << 20
EPOCH = (1980, 1, 1, 0, 0, 0)
SKIP_DIRS = frozenset({"__pycache__", ".git", ".hg", ".svn", ".ftops"})
SKIP_SUFFIXES = (".pyc", ".pyo")
SPOOL = 16 * 1024 * 1024


def data_package(sha256: str) -> str:
    return f"_ray_pkg_ftops-data{DATA_FORMAT}-{sha256[:32]}.zip"


def _info(name: str, executable: bool = False) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, EPOCH)
    info.create_system = 3  # unix: the permissions below mean the same on every machine that builds it
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    info._compresslevel = LEVEL  # type: ignore[attr-defined]  # honoured by ZipFile.open(info, "w")
    return info


class _Sink:
    """A write-only, unseekable stream: ZipFile then writes sizes after each entry (data descriptors), so the zip
    can be sent while it is made."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        out = b"".join(self._chunks)
        self._chunks.clear()
        return out


class DatasetChanged(DatasetError):
    """The dataset's bytes no longer hash to the planned sha256."""


def stream_data_package(path: Path, sha256: str) -> Iterator[bytes]:
    """The dataset package's bytes, made while they are read. Raises DatasetChanged before the zip's final bytes
    (its central directory) when the file read does not hash to ``sha256``."""
    sink = _Sink()
    big = path.stat().st_size > (1 << 30)
    with HashingReader(path) as reader:
        archive = zipfile.ZipFile(sink, "w")  # type: ignore[call-overload]  # any object with write()
        with archive.open(_info(DATA_FILE), "w", force_zip64=big) as entry:
            while block := reader.read(CHUNK):
                entry.write(block)
                out = sink.take()
                if out:
                    yield out
        if not reader.sent_matches(sha256):
            raise DatasetChanged(f"{path}: the file changed after the plan was made (its bytes no longer match "
                                 "the planned sha256); nothing was trained on it", hint="run `ftops plan` again")
        archive.close()
    yield sink.take()


def data_package_bytes(path: Path, sha256: str) -> bytes:
    """The whole dataset package (for tests and small files)."""
    return b"".join(stream_data_package(path, sha256))


@dataclass
class Built:
    name: str  # _ray_pkg_ftops-trainer-<hash>.zip
    file: IO[bytes]
    size: int

    def close(self) -> None:
        self.file.close()


def _ftops_file(name: str) -> bytes:
    return resources.files("ftops.providers.ray").joinpath(f"trainer/{name}").read_bytes()


def trainer_files(root: Path, builtin: str | None, working_dir: str | None) -> dict[str, Path | bytes]:
    """Name in the package -> file (or ftops's own bytes): ftops's launcher, the TRL script for the built-in
    trainer, and every file of a custom trainer's working_dir (which must stay inside the project)."""
    files: dict[str, Path | bytes] = {LAUNCHER: _ftops_file(LAUNCHER)}
    if builtin == "trl":
        files[TRL_SCRIPT] = _ftops_file(TRL_SCRIPT)
    if working_dir is None:
        return files
    root = root.resolve()
    base = (root / working_dir).resolve()
    if base != root and root not in base.parents:
        raise ConfigError(f"trainer.working_dir {working_dir!r} resolves outside the project ({base})")
    if not base.is_dir():
        raise ConfigError(f"trainer.working_dir {working_dir!r} is not a directory in the project")
    for folder, dirs, names in os.walk(base):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not (Path(folder) / d).is_symlink())
        for name in names:
            if name.endswith(SKIP_SUFFIXES):
                continue
            path = Path(folder) / name
            real = path.resolve()
            if real != root and root not in real.parents:
                raise ConfigError(f"{path.relative_to(root).as_posix()} in trainer.working_dir links outside the "
                                  "project; ftops ships only files inside it")
            rel = path.relative_to(base).as_posix()
            if rel in files:
                raise ConfigError(f"trainer.working_dir has its own {rel}, a name ftops's launcher uses; rename it")
            if real.is_file():
                files[rel] = real
    return files


def build_trainer_package(files: dict[str, Path | bytes]) -> Built:
    """The trainer package, in a spooled temporary file, named after the sha256 of its bytes."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL)
    try:
        with zipfile.ZipFile(spool, "w") as archive:
            for name in sorted(files):
                source = files[name]
                executable = isinstance(source, Path) and os.access(source, os.X_OK)
                with archive.open(_info(name, executable), "w") as entry:
                    if isinstance(source, bytes):
                        entry.write(source)
                    else:
                        with open(source, "rb") as fh:
                            while block := fh.read(CHUNK):
                                entry.write(block)
        size = spool.tell()
        if size > PACKAGE_LIMIT:
            raise ConfigError(f"the trainer's working_dir packs to {size / 2**20:.1f} MiB; Ray's job server takes "
                              f"packages up to {PACKAGE_LIMIT // 2**20} MiB: leave data and checkpoints out of it")
        spool.seek(0)
        digest = hashlib.sha256()
        while block := spool.read(CHUNK):
            digest.update(block)
        spool.seek(0)
        return Built(f"_ray_pkg_ftops-trainer-{digest.hexdigest()[:32]}.zip", spool, size)
    except BaseException:
        spool.close()
        raise
