"""One pass over a byte range of a file: parse, check and count every example in it.

This runs in worker processes; its result is small (counts, capped tallies, the examples' hashes) and merges
with the results of the other ranges in file order.
"""

from __future__ import annotations

import orjson
from dataclasses import dataclass
from pathlib import Path

from ftops import tokens
from ftops.dataset.formats import CHECKS
from ftops.dataset.index import add_to_parts, example_hash, line_hash, new_parts
from ftops.dataset.labels import Labels
from ftops.dataset.prompt_completion import PromptCompletionStats
from ftops.dataset.reader import iter_lines, strip_view
from ftops.dataset.tally import Tally


@dataclass(frozen=True)
class ScanSettings:
    format: str  # the format every example is checked against
    encoding: str
    limit: int | None  # tokens per example the model trains on; None when unknown
    bucket_bits: int  # how the examples' hashes are partitioned (see index.py)


class ChunkResult:
    """What one range holds. Line numbers inside are counted from the start of the range."""

    def __init__(self, bucket_bits: int):
        self.lines = 0  # lines that start in the range, blank ones included
        self.examples = 0  # non-blank lines
        self.shaped = 0  # examples whose messages (or prompt and completion) could be checked
        self.errors = Tally()
        self.warnings = Tally()
        self.total = 0
        self.billing = 0
        self.max_tokens = 0
        self.pc = PromptCompletionStats()
        self.labels = Labels()  # the answers, to recognise classification (chat and prompt/completion)
        self.parts = new_parts(bucket_bits)

    def merge(self, other: ChunkResult) -> None:
        """Append the result of the next range (its hashes are not kept: see index.IndexBuilder)."""
        self.errors.merge(other.errors, self.lines)
        self.warnings.merge(other.warnings, self.lines)
        self.pc.merge(other.pc)
        self.labels.merge(other.labels)
        self.lines += other.lines
        self.examples += other.examples
        self.shaped += other.shaped
        self.total += other.total
        self.billing += other.billing
        self.max_tokens = max(self.max_tokens, other.max_tokens)


def _parse(line_bytes: memoryview, line: int, out: ChunkResult):
    try:
        example = orjson.loads(line_bytes)  # bytes in: parsing and UTF-8 validation in one pass
    except orjson.JSONDecodeError as exc:
        try:
            str(line_bytes, "utf-8")
        except UnicodeDecodeError as bad:
            out.errors.add("invalid_utf8", line, f"not UTF-8 (byte {bad.start + 1} of the line)")
            return None
        where = f" (column {exc.colno})" if exc.colno else ""
        out.errors.add("invalid_json", line, f"not valid JSON: {exc.msg}{where}")
        return None
    if not isinstance(example, dict):
        out.errors.add("data_type", line, f"the line is a JSON {type(example).__name__}, not an object")
        return None
    return example


def _count(example: dict, line: int, enc, limit: int | None, out: ChunkResult) -> None:
    try:
        n = tokens.count_example(example, enc)
    except RecursionError:
        return
    out.total += n
    if n > out.max_tokens:
        out.max_tokens = n
    if limit is not None and n > limit:
        out.warnings.add("over_token_limit", line, str(n))
        n = limit
    out.billing += n


def scan_range(path: Path, start: int, end: int | None, settings: ScanSettings) -> ChunkResult:
    enc = tokens.get_encoding(settings.encoding)
    check = CHECKS[settings.format]
    bits, limit = settings.bucket_bits, settings.limit
    out = ChunkResult(bits)
    line = 0
    for raw in iter_lines(path, start, end):
        line += 1
        content = strip_view(raw)  # no copy: a line can be 100 MB
        if not content:
            continue
        out.examples += 1
        example = _parse(content, line, out)
        try:
            digest = line_hash(content) if example is None else example_hash(example)
        except RecursionError:  # nested deeper than any provider's parser goes
            out.errors.add("too_deep", line, "the example is nested too deeply to be read (over about 1,000 levels)")
            digest, example = line_hash(content), None
        add_to_parts(out.parts, bits, digest, line)
        del content
        if example is not None:
            check(example, line, out)
            _count(example, line, enc, limit, out)
    out.lines = line
    return out
