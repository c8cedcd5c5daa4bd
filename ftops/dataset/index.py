"""Which examples repeat, in memory that does not grow with the file.

Each example gets a 64-bit hash of its canonical JSON (keys sorted, compact: :func:`example_hash`), so two lines
that hold the same example in another layout are the same example, as the provider (and the emulator) sees it;
a line that is not a JSON object is hashed as its bytes. The hashes (with their line numbers) go to bucket files
by their top bits; each bucket is sorted on its own and appended to one sorted index file. Duplicates are equal
neighbours in the index; examples shared by two files are found by merging their indexes.
"""

from __future__ import annotations

import heapq
import json
import os
import struct
from array import array
from collections.abc import Iterator
from hashlib import sha1
from pathlib import Path
from typing import Any

import orjson

from ftops.dataset.tally import CAP

BUCKET_BYTES = 32 << 20  # about this much of the dataset per bucket
MAX_BUCKET_BITS = 8
_BLOCK = 1 << 16  # records read at a time


def line_hash(stripped_line: bytes | memoryview) -> int:
    """64 bits of SHA-1: the fastest hash in the standard library (CPUs hash it in hardware), and collisions
    between examples are as unlikely as with any other 64 bits. Not a defence against crafted collisions; no
    64-bit hash is."""
    return int.from_bytes(sha1(stripped_line, usedforsecurity=False).digest()[:8], "little")


def example_hash(example: Any) -> int:
    """The hash of a parsed example, whatever its key order, spacing or escapes were on the line."""
    try:
        canonical = orjson.dumps(example, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # what orjson does not write (an int over 64 bits, NaN parsed by json)
        canonical = json.dumps(example, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return line_hash(canonical)


def raw_line_hash(stripped_line: bytes | memoryview) -> int:
    """The hash of a line as :func:`index_file` and the scan give it: its example's, or its bytes' if none."""
    try:
        example = orjson.loads(stripped_line)
        if isinstance(example, dict):
            return example_hash(example)
    except (orjson.JSONDecodeError, RecursionError):  # too deep: the scan hashes its bytes too
        pass
    return line_hash(stripped_line)


def bucket_bits(file_bytes: int) -> int:
    bits = 0
    while (BUCKET_BYTES << bits) < file_bytes and bits < MAX_BUCKET_BITS:
        bits += 1
    return bits


def new_parts(bits: int) -> list[array]:
    """Per-bucket arrays of interleaved (hash, line) records."""
    return [array("Q") for _ in range(1 << bits)]


def add_to_parts(parts: list[array], bits: int, h: int, line: int) -> None:
    part = parts[h >> (64 - bits)] if bits else parts[0]
    part.append(h)
    part.append(line)


class Smallest:
    """The ``k`` smallest items seen (e.g. line numbers), and how many were seen."""

    def __init__(self, k: int = CAP):
        self.k, self.count = k, 0
        self._heap: list = []

    def add(self, item) -> None:
        self.count += 1
        if len(self._heap) < self.k:
            heapq.heappush(self._heap, _Reversed(item))
        elif item < self._heap[0].item:
            heapq.heapreplace(self._heap, _Reversed(item))

    def items(self) -> list:
        return sorted(r.item for r in self._heap)


class _Reversed:
    __slots__ = ("item",)

    def __init__(self, item):
        self.item = item

    def __lt__(self, other: _Reversed) -> bool:
        return other.item < self.item


def sort_records(records: array) -> array:
    """Interleaved (hash, line) records sorted by hash, then line. The sort runs in C on 16-byte strings: written
    big-endian, a record's bytes sort in the order of its numbers."""
    records.byteswap()
    pieces = [piece for (piece,) in struct.iter_unpack("16s", records)]
    pieces.sort()
    ordered = array("Q", b"".join(pieces))
    ordered.byteswap()
    return ordered


def add_duplicates(records: array, duplicates: Smallest) -> None:
    """Add (line, first line of the same hash) for every repeat in sorted records."""
    hashes = records[0::2]
    if len(set(hashes)) == len(hashes):  # the usual case: nothing repeats, and no loop in Python
        return
    first: tuple[int | None, int] = (None, 0)
    for h, line in zip(hashes, records[1::2]):
        if h == first[0]:
            duplicates.add((line, first[1]))
        else:
            first = (h, line)


class IndexBuilder:
    """Collects the parts of every chunk, then writes the sorted index and reports the duplicates."""

    def __init__(self, directory: Path, bits: int):
        self.directory, self.bits = Path(directory), bits
        self.directory.mkdir(parents=True, exist_ok=True)
        self._files = [open(self.directory / f"bucket-{i}", "wb") for i in range(1 << bits)]

    def add(self, parts: list[array], line_offset: int) -> None:
        for fh, part in zip(self._files, parts):
            if line_offset:
                part[1::2] = array("Q", [line + line_offset for line in part[1::2]])
            part.tofile(fh)

    def finish(self, index_path: Path) -> Smallest:
        """Write the sorted index to ``index_path``; returns (duplicate line, first line) pairs."""
        duplicates = Smallest()
        tmp = index_path.with_name(index_path.name + f".{os.getpid()}.tmp")
        with open(tmp, "wb") as out:
            for i, fh in enumerate(self._files):
                fh.close()
                bucket = self.directory / f"bucket-{i}"
                records = sort_records(array("Q", bucket.read_bytes()))
                bucket.unlink()
                add_duplicates(records, duplicates)
                records.tofile(out)
        os.replace(tmp, index_path)
        return duplicates

    def close(self) -> None:
        for fh in self._files:
            fh.close()


def read_index(path: Path) -> Iterator[tuple[int, int]]:
    with open(path, "rb") as fh:
        while True:
            block = array("Q")
            block.frombytes(fh.read(_BLOCK * 16))
            if not block:
                return
            yield from zip(block[0::2], block[1::2])


def shared_examples(first_index: Path, second_index: Path) -> Smallest:
    """(line in second, line in first) for every example of the second file that is also in the first."""
    shared = Smallest()
    a_iter, b_iter = read_index(first_index), read_index(second_index)
    a, b = next(a_iter, None), next(b_iter, None)
    while a is not None and b is not None:
        if a[0] < b[0]:
            a = next(a_iter, None)
        elif a[0] > b[0]:
            b = next(b_iter, None)
        else:
            shared.add((b[1], a[1]))
            b = next(b_iter, None)
    return shared


def index_file(path: Path, index_path: Path, work_dir: Path) -> Smallest:
    """Build the index of a file in this process (parsing and hashing only, no checks); returns its duplicates."""
    from ftops.dataset.reader import iter_lines

    bits = bucket_bits(path.stat().st_size)
    builder = IndexBuilder(work_dir, bits)
    try:
        parts = new_parts(bits)
        for line, raw in enumerate(iter_lines(path), 1):
            stripped = raw.strip()
            if stripped:
                add_to_parts(parts, bits, raw_line_hash(stripped), line)
            if line % _BLOCK == 0:
                builder.add(parts, 0)
                parts = new_parts(bits)
        builder.add(parts, 0)
        return builder.finish(index_path)
    finally:
        builder.close()
