"""The floor a cold `data check` is measured against: the same parsing and token counting, and nothing else.

The file is split into one byte range per core at line boundaries; each range goes to a worker process (forked
after the tokenizer is loaded, as ftops does) that parses every line with orjson and counts every example's
tokens with ftops's own formula and encoding (``ftops.tokens.count_example``). No validation, no duplicate
hashing, no index, no sha256, no cache: whatever a cold check costs beyond this is the cost of its checks.
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import orjson

from ftops import tokens


def _ranges(path: Path, parts: int) -> list[tuple[int, int]]:
    """``parts`` byte ranges of the file, each ending just after a newline (or at the end of the file)."""
    size = path.stat().st_size
    cuts = [0]
    with open(path, "rb") as fh:
        for i in range(1, parts):
            fh.seek(max(size * i // parts, cuts[-1]))
            fh.readline()
            cuts.append(min(fh.tell(), size))
    cuts.append(size)
    return list(zip(cuts[:-1], cuts[1:]))


def _count_range(args: tuple[str, int, int, str]) -> int:
    path, start, end, encoding = args
    enc = tokens.get_encoding(encoding)
    total = 0
    with open(path, "rb") as fh:
        fh.seek(start)
        pos = start
        for line in fh:
            if pos >= end:
                break
            pos += len(line)
            example = orjson.loads(line)
            total += tokens.count_example(example, enc)
    return total


def floor(path: Path, encoding: str = "o200k_base", workers: int | None = None) -> int:
    """Tokens of every example of a well-formed chat file, counted on ``workers`` processes (default: every core)."""
    workers = workers or len(os.sched_getaffinity(0))
    tokens.get_encoding(encoding)
    ranges = _ranges(path, workers)
    context = multiprocessing.get_context("fork")
    with context.Pool(workers) as pool:
        return sum(pool.map(_count_range, [(str(path), start, end, encoding) for start, end in ranges]))
