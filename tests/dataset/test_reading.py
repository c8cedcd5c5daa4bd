"""Reading files: BOM, CRLF, blank lines, invalid UTF-8, long lines, and byte ranges that split the file for
several processes without losing or repeating a line."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.dataset.support import check_file
from ftops.dataset.parallel import scan_chunks
from ftops.dataset.reader import byte_ranges, iter_lines
from ftops.dataset.scan import ChunkResult, ScanSettings
from tests.dataset.support import chat, check_rows, codes, warning, with_rows, write_lines


def test_a_utf8_bom_is_skipped_with_a_warning(tmp_path):
    report = check_file(write_lines(tmp_path / "bom.jsonl", [chat(i) for i in range(60)], bom=True))
    assert report.errors == []
    assert report.examples == 60
    assert warning(report, "utf8_bom")


def test_crlf_line_endings_are_fine(tmp_path):
    crlf = check_file(write_lines(tmp_path / "crlf.jsonl", [chat(i) for i in range(60)], newline="\r\n"))
    lf = check_file(write_lines(tmp_path / "lf.jsonl", [chat(i) for i in range(60)]))
    assert crlf.errors == [] and crlf.examples == 60
    assert crlf.tokens == lf.tokens


def test_blank_lines_are_skipped_but_line_numbers_stay_true(tmp_path):
    rows = [chat(i) for i in range(60)]
    rows[2], rows[3], rows[10] = "", "   \t", "{oops"
    report = check_rows(tmp_path, rows)
    assert report.examples == 58  # a broken line is still an example
    assert codes(report) == [(11, "invalid_json")]


def test_invalid_utf8_is_an_error_on_its_line(tmp_path):
    report = check_rows(tmp_path, with_rows({5: b'{"messages": "caf\xe9"}'}))
    assert codes(report) == [(5, "invalid_utf8")]
    assert report.examples == 12


def test_a_missing_final_newline_loses_nothing(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(json.dumps(chat(i)) for i in range(12)), encoding="utf-8")
    assert check_file(path).examples == 12


def test_a_line_longer_than_a_chunk_is_read_whole(tmp_path):
    big = {"messages": [{"role": "user", "content": "word " * 400_000}, {"role": "assistant", "content": "ok"}]}
    path = write_lines(tmp_path / "big.jsonl", [chat(0), big, chat(2)] + [chat(i) for i in range(3, 12)])
    settings = ScanSettings("chat", "o200k_base", None, 0)
    whole = list(scan_chunks(path, path.stat().st_size, settings, workers=1))
    split = list(scan_chunks(path, path.stat().st_size, settings, workers=2, chunk_bytes=4096, pool_min_bytes=0))
    assert len(split) > 2
    assert sum(c.examples for c in split) == whole[0].examples == 12
    assert sum(c.total for c in split) == whole[0].total
    assert max(c.max_tokens for c in split) > 400_000


def _merged(chunks) -> ChunkResult:
    totals = ChunkResult(0)
    for chunk in chunks:
        totals.merge(chunk)
    return totals


def test_scanning_on_a_pool_in_small_chunks_gives_the_same_result(tmp_path):
    rows = [chat(i) for i in range(300)]
    rows[17], rows[150], rows[299] = "{bad", "", {"messages": [{"role": "user", "content": "?"}]}
    path = write_lines(tmp_path / "d.jsonl", rows)
    settings = ScanSettings("chat", "o200k_base", 40, 1)
    one = _merged(scan_chunks(path, path.stat().st_size, settings, workers=1))
    many = _merged(scan_chunks(path, path.stat().st_size, settings, workers=2, chunk_bytes=1000, pool_min_bytes=0))
    assert (many.lines, many.examples, many.total, many.billing) == (one.lines, one.examples, one.total, one.billing)
    assert many.errors.first == one.errors.first == {"invalid_json": [(18, many.errors.first["invalid_json"][0][1])],
                                                      "example_missing_assistant_message": [(300, "no assistant "
                                                                                              "message to learn from")]}
    assert many.warnings.lines("over_token_limit") == one.warnings.lines("over_token_limit")


@settings(max_examples=60, deadline=None)
@given(lines=st.lists(st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"")), max_size=30),
       chunk=st.integers(1, 50), workers=st.integers(1, 3), trailing_newline=st.booleans())
def test_byte_ranges_read_every_line_exactly_once(tmp_path_factory, lines, chunk, workers, trailing_newline):
    path = tmp_path_factory.mktemp("ranges") / "f.jsonl"
    data = b"\n".join(lines) + (b"\n" if trailing_newline and lines else b"")
    path.write_bytes(data)
    read = [raw for start, end in byte_ranges(len(data), chunk, workers) for raw in iter_lines(path, start, end)]
    assert b"".join(read) == data.removeprefix(b"\xef\xbb\xbf")


def test_the_last_ranges_shrink_so_that_workers_finish_together():
    mib = 1 << 20
    ranges = byte_ranges(200 * mib, 4 * mib, workers=2)
    assert ranges[0] == (0, 4 * mib) and ranges[-1][1] == 200 * mib
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    sizes = [end - start for start, end in ranges]
    assert all(a >= b for a, b in zip(sizes, sizes[1:]))
    assert max(sizes[-4:]) <= mib // 4 and len(ranges) < 100
