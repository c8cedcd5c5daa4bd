"""check_file: the dataset check the plan, ``ftops validate`` and ``ftops data check`` run on every file."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ftops import catalog, cost
from ftops.catalog import ModelInfo
from ftops.dataset import advice, cache
from ftops.dataset.cache import Lookup, work_dir
from ftops.dataset.formats import METHODS, accepted, fit_problems, sniff
from ftops.dataset.index import IndexBuilder, Smallest, bucket_bits
from ftops.dataset.parallel import scanning
from ftops.dataset.reader import starts_with_bom
from ftops.dataset.report import FileReport, Finding, TokenStats, Warning
from ftops.dataset.scan import ChunkResult, ScanSettings
from ftops.dataset.sources import not_jsonl_message, sniff_kind
from ftops.errors import DatasetError
from ftops.filehash import FileDigest, HashCache

BOM_WARNING = Warning("utf8_bom", "the file starts with a UTF-8 byte-order mark; ftops skips it, other tools may "
                                  "not: save the file without one")


def _scan(path: Path, size: int, settings: ScanSettings, lookup: Lookup) -> tuple[ChunkResult, Smallest] | FileReport:
    """Scan the whole file, or stop and return the stored result as soon as the lookup finds one."""
    totals = ChunkResult(0)
    with work_dir(lookup.cache_dir) as work, scanning(path, size, settings) as chunks:
        found = lookup.cached(wait=cache.FAST_LOOKUP_SECONDS)  # while the workers start: content known, stat not
        if found is not None:
            return found
        builder = IndexBuilder(work / "buckets", settings.bucket_bits)
        try:
            for chunk in chunks:
                builder.add(chunk.parts, totals.lines)
                totals.merge(chunk)
                found = lookup.cached()
                if found is not None:
                    return found
            return totals, builder.finish(lookup.index_path(work))
        finally:
            builder.close()


def _report(path: Path, digest: FileDigest, detected: str, settings: ScanSettings, totals: ChunkResult,
            duplicates: Smallest) -> FileReport:
    warnings = [BOM_WARNING] if starts_with_bom(path) else []
    warnings += advice.warnings_from(totals.warnings, shaped=totals.shaped, limit=settings.limit,
                                     max_tokens=totals.max_tokens)
    warnings += advice.duplicate_warnings(duplicates)
    classes = totals.labels.classes()
    if settings.format == "prompt_completion":
        warnings += advice.prompt_completion_advice(totals.pc, classes, settings.encoding)
    elif settings.format == "chat" and classes:
        warnings += advice.classification_advice(classes, settings.encoding, chat=True)
    tokens = TokenStats(settings.encoding, totals.total, totals.billing, totals.max_tokens,
                        totals.warnings.count("over_token_limit"))
    return FileReport(path=path, sha256=digest.sha256, bytes=digest.bytes, format=detected,
                      examples=totals.examples, errors=advice.errors_from(totals.errors), warnings=warnings,
                      tokens=tokens)


def _scan_or_load(path: Path, method: str, info, cache_dir: Path | None) -> FileReport:
    encoding = info.encoding if info else catalog.DEFAULT_ENCODING
    limit = info.context if info else None
    formats = accepted(method, info)
    lookup = Lookup(path, cache_dir, dict(method=method, encoding=encoding, limit=limit, formats=formats))
    try:
        found = lookup.cached()  # at once when the hash cache knows the file: one stat, no read
        if found is not None:
            return found
        size = path.stat().st_size
        detected = sniff(path, method)
        settings = ScanSettings(detected if detected != "unknown" else formats[0], encoding, limit,
                                bucket_bits(size))
        scanned = _scan(path, size, settings, lookup)
        if isinstance(scanned, FileReport):
            return scanned
        report = _report(path, lookup.digest(), detected, settings, *scanned)
        cache.store(cache_dir, lookup.key(), report)
        return report
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    finally:
        lookup.close()


def _not_jsonl(path: Path, cache_dir: Path | None) -> FileReport | None:
    """A CSV, XLSX or JSON-array file is one error saying what it is and how to convert it, instead of an
    "invalid JSON" error per line."""
    message = not_jsonl_message(path)
    if message is None:
        return None
    try:
        digest = HashCache(cache_dir).digest(path)
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    return FileReport(path=path, sha256=digest.sha256, bytes=digest.bytes, format=sniff_kind(path), examples=0,
                      errors=[Finding(None, "not_jsonl", message)])


def check_file(path: Path, *, info: ModelInfo | None = None, method: str = "supervised",
               n_epochs: int | str | None = "auto", default_epochs: str = "auto", price: float | None = None,
               cache_dir: Path | None = None, role: str = "training", min_examples: int = 10) -> FileReport:
    """Check one JSONL dataset for a fine-tune of the base model ``info`` describes (None: unknown) with
    ``method``; ``price`` is USD per 1M training tokens for the estimate. Never uploads anything."""
    if method not in METHODS:
        raise DatasetError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file", hint="check the path (relative paths are from where you run)")
    not_jsonl = _not_jsonl(path, cache_dir)
    if not_jsonl is not None:
        return not_jsonl
    report = _scan_or_load(path, method, info, cache_dir)
    size_errors, size_warnings = advice.size_problems(report.examples, role, min_examples)
    epochs = cost.resolve_epochs(report.examples, n_epochs, default_epochs)
    estimate = cost.estimate_cost(report.tokens.billing, epochs, price) if role == "training" else None
    warnings = [w for w in report.warnings if role == "training" or w.code not in advice.TRAINING_ONLY]
    return replace(report, path=path, errors=fit_problems(report.format, method, info) + size_errors + report.errors,
                   warnings=size_warnings + warnings, epochs=epochs, estimated_cost_usd=estimate)
