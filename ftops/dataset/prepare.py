"""``ftops data prepare``: from a CSV, TSV, XLSX, JSON array or JSONL file to ready JSONL training (and
validation) files.

``prepare`` reads the input and works out everything in memory: rows -> examples (columns mapped, formats
converted), the fixes asked for, the split, the output lines. It writes nothing; ``write`` then writes new
files (never the input, never over an existing file without ``force``), each completely or not at all.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ftops.dataset import convert
from ftops.dataset.fixes import NAMES, ORDER, FixSettings, Item, Outcome, context_for, run_fixes
from ftops.dataset.mapping import ColumnOptions, Mapping, build, resolve
from ftops.dataset.sources import Row, Source, read_source
from ftops.dataset.split import Split, classes_of, split
from ftops.errors import ConversionError, DatasetError, Problem

OUTPUT_FORMATS = ("chat", "prompt_completion", "gemini", "dpo")
STRUCTURED = ("chat", "dpo", "gemini", "gemini_preference")  # JSON rows that are examples already
_WORKING = {"gemini": "chat", "gemini_preference": "dpo"}  # fixes work on OpenAI shapes
SHOWN_PROBLEMS = 20


@dataclass(frozen=True)
class PrepareOptions:
    to: str | None = None  # one of OUTPUT_FORMATS; None: the input's own format
    input_kind: str | None = None  # one of sources.KINDS; None: from the file
    sheet: str | None = None
    columns: ColumnOptions = field(default_factory=ColumnOptions)
    fixes: frozenset[str] = frozenset()
    fix_all: bool = False
    settings: FixSettings = field(default_factory=FixSettings)
    split: float | None = None
    stratify: bool = False
    seed: int = 0


@dataclass
class Prepared:
    source: Source
    mapping: Mapping | None  # how columns became examples (None: every row was an example already)
    formats: dict[str, int]  # format of the rows as read -> how many
    working: str  # prompt_completion | chat | dpo: what the fixes worked on
    output: str  # a convert.FORMATS name
    converted: int  # examples converted from another format
    applied: list[Outcome]
    suggested: list[Outcome]
    items: list[Item]  # after the fixes
    split: Split | None
    classes: dict[str, int] | None  # when the examples look like classification
    lines: dict[str, list[str]] = field(default_factory=dict)  # "train" / "valid" -> JSONL lines


def _problems_error(path: Path, what: str, problems: list[Problem]) -> DatasetError:
    shown = problems[:SHOWN_PROBLEMS]
    if len(problems) > len(shown):
        shown.append(Problem(f"... and {len(problems) - len(shown)} more"))
    return DatasetError(f"{path}: {what}", problems=shown)


def _row_format(row: Row, source: Source) -> str:
    if source.columns is not None or not isinstance(row.value, dict):
        return "columns"
    fmt = convert.detect_format(row.value)
    return fmt if fmt in STRUCTURED else "columns"


def _mapping(source: Source, rows: list[Row], options: PrepareOptions) -> Mapping | None:
    if source.columns is not None:
        return resolve(source.columns, options.columns)
    if not rows:
        if options.columns.given():
            raise DatasetError(f"{source.path}: column options apply to tables and flat JSON objects; every "
                               f"{source.unit} is already an example")
        return None
    keys: dict[str, None] = {}
    for row in rows:
        if not isinstance(row.value, dict):
            raise DatasetError(f"{source.path}: {source.unit} {row.number} is a JSON {type(row.value).__name__}, "
                               "not an object")
        keys.update(dict.fromkeys(row.value))
    return resolve(tuple(keys), options.columns)


def _formats(first: str, to: str | None) -> tuple[str, str]:
    """(working, output) formats for input rows whose first is in ``first``."""
    if to is None:
        return _WORKING.get(first, first), first
    if to == "gemini":
        working = "dpo" if first in convert.PREFERENCE else "chat"
        return working, "gemini_preference" if working == "dpo" else "gemini"
    return to, to


def _natural(source: Source, options: PrepareOptions) -> tuple[list[tuple[Row, str, str]], Mapping | None]:
    """Each row with how it is read ("columns", or the format of an example it already is) and its format."""
    kinds = [_row_format(row, source) for row in source.rows]
    mapping = _mapping(source, [r for r, k in zip(source.rows, kinds) if k == "columns"], options)
    rows = [(row, kind, mapping.kind if kind == "columns" and mapping is not None else kind)
            for row, kind in zip(source.rows, kinds)]
    if not rows:
        raise DatasetError(f"{source.path}: no examples in it")
    return rows, mapping


def _convert(source: Source, rows: list[tuple[Row, str, str]], mapping: Mapping | None, working: str,
             system: str | None) -> list[Item]:
    items, problems = [], []
    for row, kind, fmt in rows:
        try:
            example = build(row.value, mapping) if kind == "columns" and mapping is not None else row.value
            items.append(Item(row.number, convert.convert_example(example, working, source=fmt, system=system)))
        except ConversionError as exc:
            problems.append(Problem(f"{source.unit} {row.number}: {exc.message}"))
    if problems:
        raise _problems_error(source.path, f"{len(problems)} {source.unit}(s) cannot become "
                                           f"{working.replace('_', '/')} examples", problems)
    return items


def _enabled(options: PrepareOptions, working: str) -> set[str]:
    unknown = sorted(options.fixes - set(NAMES))
    if unknown:
        raise DatasetError(f"unknown fix {unknown[0]!r}; the fixes are {', '.join(NAMES)}")
    for fix in ORDER:
        if fix.name in options.fixes and working not in fix.formats:
            raise DatasetError(f"--fix {fix.name} applies to {' and '.join(f.replace('_', '/') for f in fix.formats)}"
                               f" data; these are {working.replace('_', '/')} examples")
    s = options.settings
    if "drop-long" in options.fixes and s.max_tokens is None and s.max_chars is None:
        raise DatasetError("--fix drop-long needs a limit: --max-tokens N, --max-chars N or --model M")
    return set(NAMES) if options.fix_all else set(options.fixes)


def _lines(items: list[Item], working: str, output: str, source: Source) -> list[str]:
    lines, problems = [], []
    for item in items:
        try:
            lines.append(convert.dump_line(convert.convert_example(item.example, output, source=working)))
        except ConversionError as exc:
            problems.append(Problem(f"{source.unit} {item.row}: {exc.message}"))
    if problems:
        raise _problems_error(source.path, f"{len(problems)} example(s) cannot be written as {output}", problems)
    return lines


def prepare(path: Path, options: PrepareOptions) -> Prepared:
    """Everything ``data prepare`` would write, and every change on the way; reads ``path`` only."""
    if options.to is not None and options.to not in OUTPUT_FORMATS:
        raise ValueError(f"unknown output format {options.to!r}")
    source = read_source(path, options.input_kind, sheet=options.sheet)
    rows, mapping = _natural(source, options)
    working, output = _formats(rows[0][2], options.to)
    system = options.columns.system_text
    if system is not None and working == "prompt_completion":
        raise DatasetError("--system gives chat examples a system message; prompt/completion examples have none",
                           hint="add --format chat (or gemini)")
    items = _convert(source, rows, mapping, working, system)
    enabled = _enabled(options, working)
    ctx = context_for(items, working, source.unit, options.settings)
    items, applied, suggested = run_fixes(items, ctx, enabled)
    if not items:
        raise DatasetError(f"{source.path}: the fixes dropped every example; nothing to write")
    parts = (split(items, options.split, seed=options.seed, stratify=options.stratify)
             if options.split is not None else None)
    formats = dict(Counter(fmt for _, _, fmt in rows))
    converted = sum(n for fmt, n in formats.items() if fmt != working)
    prepared = Prepared(source, mapping, formats, working, output, converted, applied, suggested, items, parts,
                        classes_of(items))
    files = {"train": parts.train, "valid": parts.valid} if parts else {"train": items}
    prepared.lines = {name: _lines(chosen, working, output, source) for name, chosen in files.items()}
    return prepared


def default_outputs(src: Path, out: Path | None, valid: Path | None, splitting: bool) -> tuple[Path, Path | None]:
    """Where the files go: ``-o`` (else ``<input>_prepared.jsonl``, or ``..._train``/``..._valid`` with a split);
    the validation file next to the training file, ``train`` in its name replaced by ``valid``."""
    if not splitting:
        return out or src.with_name(f"{src.stem}_prepared.jsonl"), None
    if out is None:
        out = src.with_name(f"{src.stem}_prepared_train.jsonl")
    if valid is None:
        name = out.name
        at = name.rfind("train")
        valid = out.with_name(name[:at] + "valid" + name[at + 5:] if at >= 0 else f"{out.stem}_valid{out.suffix}")
    return out, valid


def _same(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))


def check_outputs(src: Path, targets: list[Path], force: bool, shown=lambda path: path) -> None:
    """Refuse to write over the input, twice to one file, or over an existing file without ``force``; errors
    name a path as ``shown(path)`` gives it."""
    for i, path in enumerate(targets):
        target = shown(path)
        if _same(path, src):
            raise DatasetError(f"{target}: that is the input file; prepare never edits its input",
                               hint="choose another output with -o")
        if any(_same(path, other) for other in targets[:i]):
            raise DatasetError(f"{target}: the training and validation files must differ",
                               hint="give --validation-out")
        if path.is_dir():
            raise DatasetError(f"{target}: is a directory")
        if path.exists() and not force:
            raise DatasetError(f"{target}: already exists", hint="choose another -o, or add --force to replace it")


def write(outputs: dict[Path, list[str]]) -> None:
    """Write each file next to where it goes, then move them all into place (no half-written file is left)."""
    temps: list[tuple[Path, Path]] = []
    try:
        for target, lines in outputs.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = convert.temp_beside(target)
            temps.append((tmp, target))
            with open(tmp, "x", encoding="utf-8", newline="\n") as fh:
                fh.writelines(lines)
        for tmp, target in temps:
            os.replace(tmp, target)
    except OSError as exc:
        raise DatasetError(f"cannot write {exc.filename or 'the output'}: {exc.strerror or exc}") from None
    finally:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)
