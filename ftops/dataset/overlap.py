"""check_overlap: examples a training and a validation file share (the API says they must not)."""

from __future__ import annotations

from pathlib import Path

from ftops.dataset import cache
from ftops.dataset.index import index_file, shared_examples
from ftops.dataset.report import FileReport, Warning
from ftops.errors import DatasetError


def check_overlap(train: FileReport, valid: FileReport, *, cache_dir: Path | None = None,
                  both_training: bool = False) -> list[Warning]:
    """Examples of ``valid`` that are also in ``train`` (the API says the two files must not share examples). With
    ``both_training``, two training files are compared instead: shared examples are then only worth knowing.

    Uses the example indexes a check_file with the same ``cache_dir`` left there; without them, re-reads both
    files from ``report.path`` (hashing only). A file without examples (or not JSONL) shares none."""
    if not train.examples or not valid.examples:
        return []
    with cache.work_dir(cache_dir) as work:
        indexes = []
        for name, report in (("train", train), ("valid", valid)):
            index = cache.index_path(cache_dir, report.sha256) if cache_dir is not None else None
            if index is None or not index.exists():
                index = work / f"{name}.index"
                try:
                    index_file(Path(report.path), index, work / f"{name}-buckets")
                except OSError as exc:
                    raise DatasetError(f"{report.path}: cannot read it to compare examples "
                                       f"({exc.strerror or exc})") from None
            indexes.append(index)
        shared = shared_examples(*indexes)
    if not shared.count:
        return []
    line, train_line = shared.items()[0]
    if both_training:
        return [Warning("shared_examples",
                        f"{shared.count:,} example(s) of {valid.path} also appear in {train.path} (e.g. line {line} = "
                        f"line {train_line} there); a spec training on both would see them twice",
                        tuple(p[0] for p in shared.items()))]
    return [Warning("train_validation_overlap",
                    f"{shared.count:,} example(s) of {valid.path} also appear in {train.path} (e.g. line {line} = "
                    f"line {train_line} there); the provider refuses a job whose validation file shares examples "
                    "with its training file",
                    tuple(p[0] for p in shared.items()))]
