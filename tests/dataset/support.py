"""Helpers for the dataset tests: write JSONL files and look at what a report says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ftops import cost
from ftops.dataset import FileReport
from ftops.dataset import check_file as check_with_facts
from ftops.providers.registry import model_facts


def check_file(path: Path, *, model: str | None = None, price_overrides: dict | None = None,
               **kwargs: Any) -> FileReport:
    """check_file with the base model's facts looked up as ``ftops data check --model`` does it."""
    kind, info = model_facts(model) if model else (None, None)
    price = cost.price_per_1m(model, info, method=kwargs.get("method", "supervised"), overrides=price_overrides) \
        if model and info else None
    return check_with_facts(Path(path), info=info, price=price,
                            default_epochs=kind.capabilities.default_epochs if kind else "auto", **kwargs)


def chat(i: int, **extra: Any) -> dict[str, Any]:
    return {"messages": [
        {"role": "system", "content": "You are a terse assistant."},
        {"role": "user", "content": f"What is {i} plus {i}?"},
        {"role": "assistant", "content": f"{i} plus {i} is {2 * i}."},
    ], **extra}


def write_lines(path: Path, lines: list[Any], *, newline: str = "\n", bom: bool = False) -> Path:
    """Each item is a JSON value (dumped) or a str/bytes written as it is."""
    out = bytearray(b"\xef\xbb\xbf" if bom else b"")
    for item in lines:
        if isinstance(item, bytes):
            out += item
        elif isinstance(item, str):
            out += item.encode("utf-8")
        else:
            out += json.dumps(item).encode("utf-8")
        out += newline.encode()
    path.write_bytes(bytes(out))
    return path


def check_rows(tmp_path: Path, rows: list[Any], name: str = "data.jsonl", **kwargs: Any) -> FileReport:
    return check_file(write_lines(tmp_path / name, rows), **kwargs)


def with_rows(bad: dict[int, Any], n: int = 12, make=chat) -> list[Any]:
    """n good chat rows, with the rows at the given 1-based lines replaced."""
    rows: list[Any] = [make(i) for i in range(n)]
    for line, row in bad.items():
        rows[line - 1] = row
    return rows


def codes(report: FileReport) -> list[tuple[int | None, str]]:
    return [(f.line, f.code) for f in report.errors]


def warning(report: FileReport, code: str):
    found = [w for w in report.warnings if w.code == code]
    assert len(found) <= 1
    return found[0] if found else None
