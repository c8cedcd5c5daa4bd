"""Streaming a JSONL file by byte ranges, so several processes can each read their part.

A line belongs to the range in which it starts: a reader of ``[start, end)`` skips the line already under way at
``start`` and finishes the one under way at ``end``. Every line of the file is read exactly once, whatever the
ranges, and only one line at a time is in memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BOM = b"\xef\xbb\xbf"
_WHITESPACE = frozenset(b" \t\r\n\x0b\x0c")  # what bytes.strip() strips


def byte_ranges(size: int, chunk_bytes: int, workers: int = 1) -> list[tuple[int, int]]:
    """Ranges of at most ``chunk_bytes`` that cover ``[0, size)``. For several workers taking them in turn, the
    last ones shrink (an eighth of what is left per worker, down to a sixteenth of a chunk), so that the workers
    finish together instead of one waiting for the other's last big chunk."""
    smallest = max(1, chunk_bytes // 16)
    ranges, start = [], 0
    while start < size:
        step = chunk_bytes if workers <= 1 else max(smallest, min(chunk_bytes, (size - start) // (4 * workers)))
        ranges.append((start, min(start + step, size)))
        start += step
    return ranges or [(0, 0)]


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


def strip_view(raw: bytes) -> memoryview:
    """The line without surrounding ASCII whitespace (line ending included), as a view: no copy."""
    start, end = 0, len(raw)
    while end > start and raw[end - 1] in _WHITESPACE:
        end -= 1
    while start < end and raw[start] in _WHITESPACE:
        start += 1
    return memoryview(raw)[start:end]


def head_lines(path: Path, max_lines: int, max_bytes: int) -> Iterator[bytes]:
    """The first lines of a file, skipping (without keeping) any longer than ``max_bytes``."""
    with open(path, "rb") as fh:
        for number in range(max_lines):
            raw = fh.readline(max_bytes)
            if not raw:
                return
            if len(raw) == max_bytes and not raw.endswith(b"\n"):
                while (rest := fh.readline(1 << 20)) and not rest.endswith(b"\n"):
                    pass
                continue
            yield raw[len(BOM):] if number == 0 and raw.startswith(BOM) else raw


def starts_with_bom(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(len(BOM)) == BOM


def _no_constants(name: str):
    raise ValueError(f"{name} is not JSON")


def loads_exact(text: bytes | bytearray | memoryview | str) -> Any:
    """Parse JSON for rewriting it: integers of any size are kept exactly (orjson turns those past 64 bits into
    floats) and NaN/Infinity are refused. Raises ValueError (UnicodeDecodeError for bytes that are not UTF-8)."""
    if not isinstance(text, str):
        text = bytes(text).decode("utf-8")
    return json.loads(text, parse_constant=_no_constants)
