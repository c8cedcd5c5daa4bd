"""Scanning a file on every core: byte ranges go to a process pool, results come back in file order.

Small files are scanned in this process (a pool costs more than it saves). Workers are forked where the
platform allows it, after this process has loaded the tokenizer: they start at once and share its memory.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ftops import tokens
from ftops.dataset.reader import byte_ranges
from ftops.dataset.scan import ChunkResult, ScanSettings, scan_range

CHUNK_BYTES = 4 << 20
POOL_MIN_BYTES = 16 << 20  # below this, one process


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _scan_task(args: tuple[str, int, int, ScanSettings]) -> ChunkResult:
    path, start, end, settings = args
    return scan_range(Path(path), start, end, settings)


def _context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)


@contextmanager
def scanning(path: Path, size: int, settings: ScanSettings, *, workers: int | None = None,
             chunk_bytes: int = CHUNK_BYTES, pool_min_bytes: int = POOL_MIN_BYTES) -> Iterator[Iterator[ChunkResult]]:
    """ChunkResults for the whole file, in file order. A pool starts on entry (its workers get going while the
    caller does something else) and stops on exit, finished or not; a small file is scanned in this process, when
    the first result is asked for."""
    workers = workers or cpu_count()
    ranges = byte_ranges(size, chunk_bytes, workers)
    workers = min(workers, len(ranges))
    if workers <= 1 or size < pool_min_bytes:
        yield (scan_range(path, 0, None, settings) for _ in range(1))
        return
    tasks = [(str(path), start, end, settings) for start, end in ranges]
    tokens.get_encoding(settings.encoding)  # once, before forking: the workers share its pages
    with _context().Pool(workers) as pool:
        yield pool.imap(_scan_task, tasks)


def scan_chunks(path: Path, size: int, settings: ScanSettings, **options) -> Iterator[ChunkResult]:
    """:func:`scanning` as one iterator."""
    with scanning(path, size, settings, **options) as chunks:
        yield from chunks
