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
from ftops.dataset.index import example_hash, line_hash, new_parts
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


def scan_range(path: Path, start: int, end: int | None, settings: ScanSettings) -> ChunkResult:
    enc = tokens.get_encoding(settings.encoding)
    check, count, limit = CHECKS[settings.format], tokens.count_example, settings.limit
    out = ChunkResult(settings.bucket_bits)
    parts, shift = out.parts, 64 - settings.bucket_bits  # a hash's bucket is its top bits (none: h >> 64 == 0)
    examples = total = billing = max_tokens = line = 0
    for raw in iter_lines(path, start, end):
        line += 1
        try:
            example = orjson.loads(raw)  # JSON whitespace around the example (the line ending too) is no matter
        except orjson.JSONDecodeError:
            example = None
        if type(example) is not dict:  # a blank line, or one that is not an example: look closer
            content = strip_view(raw)  # no copy: a line can be 100 MB
            if not content:
                continue
            example = _parse(content, line, out)
            del content
        examples += 1
        try:
            digest = example_hash(example) if example is not None else line_hash(strip_view(raw))
        except RecursionError:  # nested deeper than any provider's parser goes
            out.errors.add("too_deep", line, "the example is nested too deeply to be read (over about 1,000 levels)")
            digest, example = line_hash(strip_view(raw)), None
        part = parts[digest >> shift]
        part.append(digest)
        part.append(line)
        if example is None:
            continue
        check(example, line, out)
        try:
            n = count(example, enc)
        except RecursionError:
            continue
        total += n
        if n > max_tokens:
            max_tokens = n
        if limit is not None and n > limit:
            out.warnings.add("over_token_limit", line, str(n))
            n = limit
        billing += n
    out.lines, out.examples, out.total, out.billing, out.max_tokens = line, examples, total, billing, max_tokens
    return out
