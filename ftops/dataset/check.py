"""check_file and check_overlap: the dataset checks the plan, ``ftops validate`` and ``ftops data check`` run."""

from __future__ import annotations

import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor, TimeoutError
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

FAST_LOOKUP_SECONDS = 0.05  # how long to wait for a sha256 the hash cache knows before scanning anyway
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


class _Lookup:
    """The file's sha256 (computed in a thread while the scan starts) and the stored result it keys."""

    def __init__(self, path: Path, cache_dir: Path | None, inputs: dict):
        self.path, self.cache_dir, self.inputs = path, cache_dir, inputs
        self._hashes = HashCache(cache_dir)
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
        return cache.scan_key(sha256=self.digest().sha256, **self.inputs)

    def index_path(self, work: Path) -> Path:
        """Where the examples' hash index goes: kept in the cache, or in the scan's work dir."""
        if self.cache_dir is None:
            return work / "index"
        return cache.index_path(self.cache_dir, self.digest().sha256)

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
        return cache.load(self.cache_dir, self.key())

    def close(self) -> None:
        self._thread.shutdown(wait=True, cancel_futures=True)


def _scan(path: Path, size: int, settings: ScanSettings, lookup: _Lookup) -> tuple[ChunkResult, Smallest] | FileReport:
    """Scan the whole file, or stop and return the stored result as soon as the lookup finds one."""
    totals = ChunkResult(0)
    with _work_dir(lookup.cache_dir) as work:
        builder = IndexBuilder(work / "buckets", settings.bucket_bits)
        try:
            for chunk in scan_chunks(path, size, settings):
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
    if settings.format == "prompt_completion":
        warnings += advice.prompt_completion_advice(totals.pc)
    tokens = TokenStats(settings.encoding, totals.total, totals.billing, totals.max_tokens,
                        totals.warnings.count("over_token_limit"))
    return FileReport(path=path, sha256=digest.sha256, bytes=digest.bytes, format=detected,
                      examples=totals.examples, errors=advice.errors_from(totals.errors), warnings=warnings,
                      tokens=tokens)


def _scan_or_load(path: Path, method: str, info, cache_dir: Path | None) -> FileReport:
    encoding = info.encoding if info else catalog.DEFAULT_ENCODING
    limit = info.context if info else None
    formats = accepted(method, info)
    lookup = _Lookup(path, cache_dir, dict(method=method, encoding=encoding, limit=limit, formats=formats))
    try:
        found = lookup.cached(wait=FAST_LOOKUP_SECONDS)
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


def check_file(path: Path, *, model: str | None = None, method: str = "supervised",
               n_epochs: int | str | None = "auto", cache_dir: Path | None = None,
               price_overrides: dict[str, float] | None = None, role: str = "training") -> FileReport:
    """Check one JSONL dataset for a fine-tune of ``model`` with ``method``; never uploads anything."""
    if method not in METHODS:
        raise DatasetError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file", hint="check the path (relative paths are from where you run)")
    info = catalog.lookup(model) if model else None
    report = _scan_or_load(path, method, info, cache_dir)
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
