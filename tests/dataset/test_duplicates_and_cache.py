"""Duplicate examples, examples shared by training and validation files, and the per-file result cache."""

from __future__ import annotations

import json
import shutil

import pytest

from ftops.dataset import check_overlap
from tests.dataset.support import check_file
from ftops.errors import DatasetError
from tests.dataset.support import chat, check_rows, warning, write_lines


def test_duplicate_examples_are_a_warning_listing_the_repeats(tmp_path):
    rows = [chat(i) for i in range(60)]
    rows[9], rows[30], rows[31] = chat(2), chat(2), chat(5)
    report = check_rows(tmp_path, rows)
    dup = warning(report, "duplicate_examples")
    assert dup.lines == (10, 31, 32)
    assert "line 10 = line 3" in dup.message


def test_the_same_example_in_another_layout_is_a_duplicate_and_an_overlap(tmp_path):
    rows = [chat(i) for i in range(60)]
    rows[9] = json.dumps(chat(2), separators=(",", ":"), sort_keys=True)  # compact, other key order
    rows[11] = json.dumps(chat(2)).replace("What", "\\u0057hat")  # an escape for the same text
    report = check_rows(tmp_path, rows, cache_dir=tmp_path / ".ftops")
    assert warning(report, "duplicate_examples").lines == (10, 12)
    valid = write_lines(tmp_path / "valid.jsonl", [chat(100 + i) for i in range(11)] + [rows[9]])
    for cache_dir in (None, tmp_path / ".ftops"):
        found = check_overlap(report, check_file(valid, cache_dir=cache_dir, role="validation"), cache_dir=cache_dir)
        assert [(w.code, w.lines) for w in found] == [("train_validation_overlap", (12,))]


def test_duplicates_are_found_when_the_index_spans_several_buckets(tmp_path):
    from ftops.dataset.index import IndexBuilder, add_to_parts, new_parts

    builder = IndexBuilder(tmp_path / "b", bits=3)
    parts = new_parts(3)
    for line, h in enumerate([5, 1 << 63, 7, 5, (1 << 63) | 1, 1 << 63], start=1):
        add_to_parts(parts, 3, h, line)
    builder.add(parts, line_offset=100)
    dups = builder.finish(tmp_path / "index")
    assert dups.items() == [(104, 101), (106, 102)]


def test_the_index_is_sorted_by_hash_then_line_whatever_the_bytes_of_the_numbers(tmp_path):
    import random

    from ftops.dataset.index import IndexBuilder, add_to_parts, new_parts, read_index

    rng = random.Random(5)
    hashes = [0, 1, 255, 256, (1 << 64) - 1, 1 << 63, (1 << 63) - 1, 1 << 56] + [rng.getrandbits(64) for _ in range(500)]
    hashes += rng.sample(hashes, 40)  # repeats
    builder = IndexBuilder(tmp_path / "b", bits=2)
    parts = new_parts(2)
    for line, h in enumerate(hashes, start=1):
        add_to_parts(parts, 2, h, line)
    builder.add(parts, line_offset=0)
    dups = builder.finish(tmp_path / "index")
    assert list(read_index(tmp_path / "index")) == sorted((h, line) for line, h in enumerate(hashes, start=1))
    first: dict[int, int] = {}
    repeats = []
    for line, h in enumerate(hashes, start=1):
        if h in first:
            repeats.append((line, first[h]))
        first.setdefault(h, line)
    assert dups.count == len(repeats) == 40
    assert dups.items() == sorted(repeats)


def test_an_example_nested_too_deeply_is_compared_by_its_bytes_with_or_without_the_cache(tmp_path):
    deep = '{"messages":' + "[" * 995 + "]" * 995 + "}"
    train = write_lines(tmp_path / "train.jsonl", [chat(i) for i in range(20)] + [deep])
    valid = write_lines(tmp_path / "valid.jsonl", [deep, chat(3), chat(100)])
    for cache_dir in (None, tmp_path / ".ftops"):
        report = check_file(train, cache_dir=cache_dir)
        assert ("too_deep", 21) in [(f.code, f.line) for f in report.errors]
        found = check_overlap(report, check_file(valid, cache_dir=cache_dir, role="validation"), cache_dir=cache_dir)
        assert [(w.code, w.lines) for w in found] == [("train_validation_overlap", (1, 2))]


def _files(tmp_path):
    train = write_lines(tmp_path / "train.jsonl", [chat(i) for i in range(60)])
    valid = write_lines(tmp_path / "valid.jsonl", [chat(i) for i in (100, 7, 101, 42)] + [chat(200 + i) for i in range(8)])
    return train, valid


def test_examples_shared_by_training_and_validation_files_are_reported(tmp_path):
    train, valid = _files(tmp_path)
    for cache_dir in (None, tmp_path / ".ftops"):
        found = check_overlap(check_file(train, cache_dir=cache_dir), check_file(valid, cache_dir=cache_dir,
                                                                                  role="validation"),
                              cache_dir=cache_dir)
        assert [(w.code, w.lines) for w in found] == [("train_validation_overlap", (2, 4))]
        assert "line 2 = line 8" in found[0].message


def test_files_without_shared_examples_have_no_overlap(tmp_path):
    train = write_lines(tmp_path / "train.jsonl", [chat(i) for i in range(60)])
    valid = write_lines(tmp_path / "valid.jsonl", [chat(i) for i in range(100, 112)])
    assert check_overlap(check_file(train), check_file(valid)) == []


def test_a_second_check_of_an_unchanged_file_comes_from_the_cache(tmp_path):
    cache_dir = tmp_path / ".ftops"
    path = write_lines(tmp_path / "d.jsonl", [chat(i) for i in range(60)])
    first = check_file(path, model="gpt-4o-mini", cache_dir=cache_dir)
    stored = list((cache_dir / "dataset").glob("*.json"))
    assert len(stored) == 1 and (cache_dir / "hashes.json").exists()
    # Proof that the second run reads the stored result instead of the file: an edit to the stored result shows.
    data = json.loads(stored[0].read_text())
    data["tokens"]["total"] += 1000
    stored[0].write_text(json.dumps(data))
    second = check_file(path, model="gpt-4o-mini", cache_dir=cache_dir)
    assert second.tokens.total == first.tokens.total + 1000
    assert second.examples == first.examples and second.sha256 == first.sha256


def test_a_project_of_hundreds_of_files_keeps_every_result_in_the_cache(tmp_path):
    # A monorepo of 250 specs checks 250 files per plan: every result must survive to the next plan (an earlier
    # cap of 200 cache files thrashed and rescanned every file on every warm plan).
    cache_dir = tmp_path / ".ftops"
    paths = [write_lines(tmp_path / f"d{n}.jsonl", [chat(i + 1000 * n) for i in range(10)]) for n in range(250)]
    for path in paths:
        check_file(path, model="gpt-4o-mini", cache_dir=cache_dir)
    assert len(list((cache_dir / "dataset").glob("*.json"))) == 250
    assert len(list((cache_dir / "dataset").glob("*.index"))) == 250


def test_the_cache_follows_content_not_names_or_timestamps(tmp_path):
    cache_dir = tmp_path / ".ftops"
    path = write_lines(tmp_path / "d.jsonl", [chat(i) for i in range(60)])
    first = check_file(path, model="gpt-4o-mini", cache_dir=cache_dir)
    copy = tmp_path / "copy.jsonl"
    shutil.copy(path, copy)
    assert check_file(copy, model="gpt-4o-mini", cache_dir=cache_dir) == first.with_path(copy)
    assert len(list((cache_dir / "dataset").glob("*.json"))) == 1
    write_lines(path, [chat(i) for i in range(61)])
    changed = check_file(path, model="gpt-4o-mini", cache_dir=cache_dir)
    assert changed.examples == 61 and changed.sha256 != first.sha256


def test_a_different_model_limit_or_method_is_a_different_cache_entry(tmp_path):
    cache_dir = tmp_path / ".ftops"
    path = write_lines(tmp_path / "d.jsonl", [chat(i) for i in range(60)])
    a = check_file(path, model="gpt-4o-mini", cache_dir=cache_dir)
    b = check_file(path, model="gpt-3.5-turbo", cache_dir=cache_dir)
    c = check_file(path, model="gpt-4o-mini", method="dpo", cache_dir=cache_dir)
    assert a.tokens.encoding == "o200k_base" and b.tokens.encoding == "cl100k_base"
    assert c.format == "chat" and any(e.code == "format_mismatch" for e in c.errors)
    assert len(list((cache_dir / "dataset").glob("*.json"))) == 3


def test_a_broken_cache_entry_is_ignored(tmp_path):
    cache_dir = tmp_path / ".ftops"
    path = write_lines(tmp_path / "d.jsonl", [chat(i) for i in range(60)])
    first = check_file(path, cache_dir=cache_dir)
    for stored in (cache_dir / "dataset").glob("*.json"):
        stored.write_text("{not json")
    assert check_file(path, cache_dir=cache_dir) == first


def test_findings_are_capped_per_code_with_a_count(tmp_path):
    report = check_rows(tmp_path, ["{bad"] * 250)
    invalid = [f for f in report.errors if f.code == "invalid_json"]
    assert [f.line for f in invalid[:100]] == list(range(1, 101))
    assert len(invalid) == 101 and invalid[-1].line is None and "150 more" in invalid[-1].message


def test_overlap_of_a_file_that_is_gone_is_a_dataset_error(tmp_path):
    train, valid = _files(tmp_path)
    reports = check_file(train), check_file(valid)
    train.unlink()
    with pytest.raises(DatasetError, match="train.jsonl: cannot read it"):
        check_overlap(*reports)
