"""Reading what ``ftops data prepare`` accepts (CSV, TSV, XLSX, a JSON array, JSONL) as numbered rows.

A row keeps the number a person finds it by in the input: the spreadsheet row for tables (the header is row 1,
so the first data row is row 2), the line for JSONL, the item (1-based) for a JSON array. A table row is a dict
from column name to cell text; a JSON row is the parsed value. XLSX needs openpyxl (``pip install
'ftops[xlsx]'``), imported only when a workbook is read.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ftops.dataset.reader import BOM, iter_lines, loads_exact, strip_view
from ftops.errors import DatasetError, Problem

KINDS = ("csv", "tsv", "xlsx", "json", "jsonl")
LABELS = {"csv": "CSV", "tsv": "TSV", "xlsx": "XLSX workbook", "json": "JSON array", "jsonl": "JSONL", "xls": "XLS"}
UNITS = {"csv": "row", "tsv": "row", "xlsx": "row", "json": "item", "jsonl": "line"}
_EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xls",
               ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_ZIP = b"PK\x03\x04"
_HEAD = 1 << 16  # bytes read to tell what a file is
SHOWN_PROBLEMS = 10


@dataclass(frozen=True)
class Row:
    number: int  # where it is in the input (see the module docstring)
    value: Any


@dataclass
class Source:
    path: Path
    kind: str  # one of KINDS
    rows: list[Row]
    columns: tuple[str, ...] | None = None  # a table's header
    blank: list[int] = field(default_factory=list)  # numbers of blank rows or lines, skipped

    @property
    def unit(self) -> str:
        return UNITS[self.kind]

    @property
    def label(self) -> str:
        return LABELS[self.kind]


def _first_line_is_json(head: bytes, whole: bool) -> bool:
    line, newline, _ = head.partition(b"\n")
    if not (newline or whole):
        return False  # the line goes on past what was read
    try:
        loads_exact(line)
    except ValueError:
        return False
    return True


def sniff_kind(path: Path) -> str:
    """The kind of input file (one of KINDS, "xls", or "unknown"), from its first bytes and its extension. A
    file that starts with '[' is a JSON array, unless it is named .jsonl and its first line is JSON on its own."""
    with open(path, "rb") as fh:
        head = fh.read(_HEAD)
    whole = len(head) < _HEAD
    if head.startswith(_ZIP):
        return "xlsx"
    by_name = _EXTENSIONS.get(path.suffix.lower(), "unknown")
    if by_name in ("csv", "tsv", "xls"):
        return by_name
    head = head.removeprefix(BOM).lstrip()
    if head[:1] == b"[":
        return "jsonl" if by_name == "jsonl" and _first_line_is_json(head, whole) else "json"
    if head[:1] == b"{":
        return "jsonl"
    return by_name


def not_jsonl_message(path: Path) -> str | None:
    """What a file given as JSONL really is, and the command that converts it; None for (what may be) JSONL."""
    if _EXTENSIONS.get(path.suffix.lower()) == "jsonl":  # named JSONL: the line-by-line check says what is wrong
        return None
    try:
        kind = sniff_kind(path)
    except OSError:
        return None
    if kind not in ("csv", "tsv", "xlsx", "xls", "json"):
        return None
    command = f"`ftops data prepare {path.name} -o {path.stem}.jsonl` (see `ftops data prepare --help`)"
    if kind == "xls":
        return (f"this is an old Excel workbook (.xls), not JSONL (one JSON example per line); save it as .xlsx or "
                f"CSV UTF-8, then convert it with {command.replace(path.name, path.stem + '.xlsx', 1)}")
    what = {"csv": "a CSV file", "tsv": "a TSV file", "xlsx": "an Excel workbook (.xlsx)", "json": "a JSON array"}
    return f"this is {what[kind]}, not JSONL (one JSON example per line); convert it with {command}"


def _fail(path: Path, what: str, problems: list[Problem], unit: str, hint: str | None = None) -> DatasetError:
    shown = problems[:SHOWN_PROBLEMS]
    more = len(problems) - len(shown)
    if more:
        shown.append(Problem(f"... and {more} more {unit}(s)"))
    return DatasetError(f"{path}: {what}", problems=shown, hint=hint)


def _read_jsonl(path: Path) -> Source:
    rows, blank, bad = [], [], []
    for number, raw in enumerate(iter_lines(path), 1):
        content = strip_view(raw)
        if not content:
            blank.append(number)
            continue
        try:
            rows.append(Row(number, loads_exact(content)))
        except UnicodeDecodeError:
            bad.append(Problem(f"line {number}: not UTF-8"))
        except ValueError as exc:
            bad.append(Problem(f"line {number}: not valid JSON ({exc})"))
    if bad:
        raise _fail(path, f"{len(bad)} line(s) are not JSON", bad, "line",
                    hint="fix these lines (`ftops data check` lists every problem), then prepare again")
    return Source(path, "jsonl", rows, blank=blank)


def _read_json(path: Path) -> Source:
    try:
        data = loads_exact(path.read_bytes().removeprefix(BOM))
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: not UTF-8") from None
    except ValueError as exc:
        raise DatasetError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, list):
        raise DatasetError(f"{path}: a JSON file must hold one array of examples, not a {type(data).__name__}",
                           hint="for one example per line, name the file .jsonl")
    return Source(path, "json", [Row(i, value) for i, value in enumerate(data, 1)])


def _header(path: Path, cells: list[Any]) -> tuple[str, ...]:
    while cells and _text(cells[-1]) == "":
        cells = cells[:-1]
    names = [_text(c).strip() or f"column {i}" for i, c in enumerate(cells, 1)]
    if not names:
        raise DatasetError(f"{path}: row 1 must be a header naming the columns, and it is empty")
    seen: dict[str, int] = {}
    for i, name in enumerate(names, 1):
        if name in seen:
            raise DatasetError(f"{path}: the header names column {name!r} twice (columns {seen[name]} and {i})")
        seen[name] = i
    return tuple(names)


def _table(path: Path, kind: str, records: Iterable[tuple[int, list[Any]]]) -> Source:
    """Rows from ``(number, cells)`` records, the first being the header."""
    records = iter(records)
    first = next(records, None)
    if first is None:
        raise DatasetError(f"{path}: the file is empty")
    columns = _header(path, list(first[1]))
    rows, blank, ragged = [], [], []
    for number, cells in records:
        texts = [_text(c) for c in cells]
        if not any(t.strip() for t in texts):
            blank.append(number)
            continue
        if any(t.strip() for t in texts[len(columns):]):
            ragged.append(Problem(f"row {number}: {len(texts)} cells, but the header names {len(columns)} columns"))
            continue
        rows.append(Row(number, dict(zip(columns, texts + [""] * (len(columns) - len(texts))))))
    if ragged:
        raise _fail(path, f"{len(ragged)} row(s) have more cells than the header", ragged, "row",
                    hint="a separator inside an unquoted cell? quote such cells, or name every column in row 1")
    return Source(path, kind, rows, columns=columns, blank=blank)


def _text(cell: Any) -> str:
    """A cell as text, the way a spreadsheet shows it (whole numbers without '.0', TRUE/FALSE, ISO dates)."""
    if cell is None:
        return ""
    if isinstance(cell, str):
        return cell
    if isinstance(cell, bool):
        return "TRUE" if cell else "FALSE"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, (dt.date, dt.time)):
        return cell.isoformat()
    return str(cell)


def _read_csv(path: Path, kind: str) -> Source:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[:exc.start].count(b"\n") + 1
        raise DatasetError(f"{path}: not UTF-8 (line {line})", hint="save it as 'CSV UTF-8' (in Excel: Save As > "
                                                                    "CSV UTF-8), then prepare again") from None
    if kind == "tsv":
        delimiter = "\t"
    else:
        try:
            delimiter = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return _table(path, kind, enumerate(reader, 1))
    except csv.Error as exc:
        raise DatasetError(f"{path}: line {reader.line_num}: {exc}") from None


def _read_xlsx(path: Path, sheet: str | None) -> Source:
    try:
        import openpyxl
    except ImportError:
        raise DatasetError(f"{path}: reading .xlsx files needs the optional openpyxl package",
                           hint="pip install 'ftops[xlsx]' (or save the sheet as CSV UTF-8)") from None
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError and its own errors for a file it cannot read
        raise DatasetError(f"{path}: not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise DatasetError(f"{path}: no sheet named {sheet!r}; the sheets are "
                               f"{', '.join(map(repr, book.sheetnames))}")
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        return _table(path, "xlsx", ((n, list(cells)) for n, cells in enumerate(ws.iter_rows(values_only=True), 1)))
    finally:
        book.close()


def read_source(path: Path, kind: str | None = None, *, sheet: str | None = None) -> Source:
    """Every row of an input file; ``kind`` (one of KINDS) overrides what the file looks like."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file", hint="check the path (relative paths are from where you run)")
    kind = kind or sniff_kind(path)
    if sheet is not None and kind != "xlsx":
        raise DatasetError(f"--sheet applies to .xlsx workbooks; {path} is read as {LABELS.get(kind, kind)}")
    try:
        if kind == "xlsx":
            return _read_xlsx(path, sheet)
        if kind in ("csv", "tsv"):
            return _read_csv(path, kind)
        if kind == "json":
            return _read_json(path)
        if kind == "jsonl":
            return _read_jsonl(path)
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if kind == "xls":
        raise DatasetError(f"{path}: the old .xls format cannot be read", hint="save it as .xlsx or CSV UTF-8")
    raise DatasetError(f"{path}: cannot tell what kind of file this is from its name or content",
                       hint=f"give --input-format ({', '.join(KINDS)})")
