"""Streaming a JSONL file by byte ranges, so several processes can each read their part.

A line belongs to the range in which it starts: a reader of ``[start, end)`` skips the line already under way at
``start`` and finishes the one under way at ``end``. Every line of the file is read exactly once, whatever the
ranges, and only one line at a time is in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

BOM = b"\xef\xbb\xbf"


def byte_ranges(size: int, chunk_bytes: int) -> list[tuple[int, int]]:
    return [(start, min(start + chunk_bytes, size)) for start in range(0, size, chunk_bytes)] or [(0, 0)]


def iter_lines(path: Path, start: int = 0, end: int | None = None) -> Iterator[bytes]:
    """The raw lines (with their line ending) that start in ``[start, end)``; the first without its BOM."""
    with open(path, "rb") as fh:
        if start:
            fh.seek(start - 1)
            fh.readline()  # the rest of the line under way at start belongs to the previous range
        pos = fh.tell()
        for raw in fh:
            if end is not None and pos >= end:
                return
            first = pos == 0
            pos += len(raw)
            yield raw[len(BOM):] if first and raw.startswith(BOM) else raw


def starts_with_bom(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(len(BOM)) == BOM
