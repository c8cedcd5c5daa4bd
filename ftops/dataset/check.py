"""check_file and check_overlap: the dataset checks the plan, ``ftops validate`` and ``ftops data check`` run."""

from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from ftops import catalog, cost
from ftops.dataset import advice, cache
from ftops.dataset.formats import METHODS, accepted, fit_problems, sniff
from ftops.dataset.index import IndexBuilder, Smallest, bucket_bits, index_file, shared_examples
from ftops.dataset.parallel import scan_chunks
from ftops.dataset.reader import starts_with_bom
from ftops.dataset.report import FileReport, TokenStats, Warning
from ftops.dataset.scan import ChunkResult, ScanSettings
from ftops.errors import DatasetError
from ftops.filehash import FileDigest, HashCache

BOM_WARNING = Warning("utf8_bom", "the file starts with a UTF-8 byte-order mark; ftops skips it, other tools may "
                                  "not: save the file without one")


@contextmanager
def _work_dir(cache_dir: Path | None):
    parent = cache.directory(cache_dir) if cache_dir is not None else None
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="ftops-scan-", dir=parent))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _scan(path: Path, digest: FileDigest, settings: ScanSettings, cache_dir: Path | None) -> tuple[ChunkResult, Smallest]:
    totals = ChunkResult(0)
    with _work_dir(cache_dir) as work:
        index = cache.index_path(cache_dir, digest.sha256) if cache_dir is not None else work / "index"
        builder = IndexBuilder(work / "buckets", settings.bucket_bits)
        try:
            for chunk in scan_chunks(path, digest.bytes, settings):
                builder.add(chunk.parts, totals.lines)
                totals.merge(chunk)
            duplicates = builder.finish(index)
        finally:
            builder.close()
    return totals, duplicates


def _scan_report(path: Path, digest: FileDigest, detected: str, settings: ScanSettings,
                 cache_dir: Path | None) -> FileReport:
    totals, duplicates = _scan(path, digest, settings, cache_dir)
    warnings = [BOM_WARNING] if starts_with_bom(path) else []
    warnings += advice.warnings_from(totals.warnings, shaped=totals.shaped, limit=settings.limit,
                                     max_tokens=totals.max_tokens)
    warnings += advice.duplicate_warnings(duplicates)
    if settings.format == "prompt_completion":
        warnings += advice.prompt_completion_advice(totals.pc)
    tokens = TokenStats(settings.encoding, totals.total, totals.billing, totals.max_tokens,
                        totals.warnings.count("over_token_limit"))
    return FileReport(path=path, sha256=digest.sha256, bytes=digest.bytes, format=detected,
                      examples=totals.examples, errors=advice.errors_from(totals.errors), warnings=warnings,
                      tokens=tokens)


def _digest(path: Path, cache_dir: Path | None) -> FileDigest:
    if not path.is_file():
        raise DatasetError(f"{path}: no such file", hint="check the path (relative paths are from where you run)")
    hashes = HashCache(cache_dir)
    try:
        digest = hashes.digest(path)
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    hashes.save()
    return digest


def check_file(path: Path, *, model: str | None = None, method: str = "supervised",
               n_epochs: int | str | None = "auto", cache_dir: Path | None = None,
               price_overrides: dict[str, float] | None = None, role: str = "training") -> FileReport:
    """Check one JSONL dataset for a fine-tune of ``model`` with ``method``; never uploads anything."""
    if method not in METHODS:
        raise DatasetError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    path = Path(path)
    digest = _digest(path, cache_dir)
    info = catalog.lookup(model) if model else None
    encoding = info.encoding if info else catalog.DEFAULT_ENCODING
    limit = info.context if info else None
    formats = accepted(method, info)
    key = cache.scan_key(sha256=digest.sha256, method=method, encoding=encoding, limit=limit, formats=formats)
    report = cache.load(cache_dir, key)
    if report is None:
        try:
            detected = sniff(path, method)
            settings = ScanSettings(detected if detected != "unknown" else formats[0], encoding, limit,
                                    bucket_bits(digest.bytes))
            report = _scan_report(path, digest, detected, settings, cache_dir)
        except OSError as exc:
            raise DatasetError(f"{path}: cannot read it ({exc.strerror or exc})") from None
        cache.store(cache_dir, key, report)
    size_errors, size_warnings = advice.size_problems(report.examples, role)
    epochs = cost.resolve_epochs(report.examples, n_epochs)
    price = (cost.estimate_cost(report.tokens.billing, epochs, model, price_overrides)
             if model and role == "training" else None)
    return replace(report, path=path, errors=fit_problems(report.format, method, info) + size_errors + report.errors,
                   warnings=size_warnings + report.warnings, epochs=epochs, estimated_cost_usd=price)


def check_overlap(train: FileReport, valid: FileReport, *, cache_dir: Path | None = None) -> list[Warning]:
    """Examples of ``valid`` that are also in ``train`` (the API says the two files must not share examples)."""
    with _work_dir(cache_dir) as work:
        indexes = []
        for name, report in (("train", train), ("valid", valid)):
            index = cache.index_path(cache_dir, report.sha256) if cache_dir is not None else None
            if index is None or not index.exists():
                index = work / f"{name}.index"
                index_file(Path(report.path), index, work / f"{name}-buckets")
            indexes.append(index)
        shared = shared_examples(*indexes)
    if not shared.count:
        return []
    line, train_line = shared.items()[0]
    return [Warning("train_validation_overlap",
                    f"{shared.count} example(s) of {valid.path} also appear in {train.path} (e.g. line {line} = "
                    f"line {train_line} there); validation loss means little on examples the model trained on",
                    tuple(p[0] for p in shared.items()))]
