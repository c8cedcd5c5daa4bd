"""`ftops data prepare`: spreadsheets and JSON to ready JSONL files, every change reported with its rows."""

from __future__ import annotations

import re
from pathlib import Path
from typing import List, Optional

import typer

from ftops.cli import context
from ftops.cli.output import EXIT_OK, echo, style
from ftops.errors import DatasetError

FORMATS = {"chat": "chat", "prompt-completion": "prompt_completion", "gemini": "gemini", "dpo": "dpo"}
SHOWN_ROWS = 10
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\"}


def unescape(text: str | None) -> str | None:
    """``--separator '\\n\\n###\\n\\n'`` as typed in a shell: \\n, \\t, \\r and \\\\ become what they name."""
    if text is None:
        return None
    return re.sub(r"\\([ntr\\])", lambda m: _ESCAPES[m.group(1)], text)


def _shown(path: Path) -> Path:
    """A path as the user gave it: relative to the directory ftops runs in, when it is inside it."""
    base = context.current.directory
    return path.relative_to(base) if path.is_relative_to(base) else path


def _rows(unit: str, rows: list[int], limit: int | None = SHOWN_ROWS) -> str:
    shown = rows if limit is None else rows[:limit]
    more = ", ..." if len(rows) > len(shown) else ""
    return f"{unit}{'s' if len(rows) > 1 else ''} {', '.join(map(str, shown))}{more}"


def _format_name(fmt: str) -> str:
    return {"prompt_completion": "prompt/completion", "gemini_preference": "gemini (preference)"}.get(fmt, fmt)


def _print_source(prepared) -> None:
    source = prepared.source
    header = " (row 1 is the header)" if source.columns is not None else ""
    echo(style(f"read {_shown(source.path)}", bold=True) + f": {source.label}, {len(source.rows) + len(source.blank):,} {source.unit}(s){header}")
    if source.blank:
        echo(f"  skipped {len(source.blank):,} blank {_rows(source.unit, source.blank, None)}")
    if prepared.mapping is not None:
        mapping = prepared.mapping
        echo(f"  columns: {mapping.describe()}")
        if mapping.ignored:
            echo(f"  ignored columns (not written): {', '.join(map(repr, mapping.ignored))}")
    read = ", ".join(f"{n:,} {_format_name(fmt)}" for fmt, n in prepared.formats.items())
    converted = f"; {prepared.converted:,} converted" if prepared.converted else ""
    echo(f"  examples: {read}{converted}; writing {_format_name(prepared.output)}")


def _print_outcome(outcome, unit: str, applied: bool) -> None:
    name = style(outcome.fix, bold=True)
    if outcome.skipped:
        echo(f"  {name}: skipped, {outcome.skipped}")
        return
    if not outcome.count:
        echo(f"  {name}: nothing to change" + (f"; {outcome.note}" if outcome.note else ""))
        return
    text = outcome.done if applied else outcome.found
    if outcome.changed:
        echo(f"  {name}: {text} ({_rows(unit, outcome.changed)})")
    else:
        echo(f"  {name}: {text}:")
        for row, reason in outcome.dropped:
            echo(f"    {unit} {row}: {reason}")
    if outcome.note:
        echo(f"    note: {outcome.note}")


def _print_split(prepared, options) -> None:
    parts = prepared.split
    how = f"seed {options.seed}" + (", stratified by label" if options.stratify else "")
    echo(f"split: {len(parts.train):,} training, {len(parts.valid):,} validation ({how})")
    for label, (train, valid) in parts.classes.items():
        echo(f"  {label!r}: {train:,} training, {valid:,} validation")
    if parts.kept_together:
        echo(f"  {parts.kept_together:,} repeated example(s) kept on the same side as their first "
             "(--fix dedupe drops them)")


def _print(prepared, options, outputs: list[Path], dry_run: bool) -> None:
    unit = prepared.source.unit
    _print_source(prepared)
    if prepared.applied:
        echo("fixes applied:")
        for outcome in prepared.applied:
            _print_outcome(outcome, unit, applied=True)
    if prepared.suggested:
        echo("other fixes (not applied; add --fix NAME or --fix-all):")
        for outcome in prepared.suggested:
            _print_outcome(outcome, unit, applied=False)
    if prepared.split is not None:
        _print_split(prepared, options)
    elif prepared.classes:
        echo(f"note: this looks like classification ({len(prepared.classes)} classes); --split 0.2 --stratify "
             "holds out a validation file with every class")
    counts = [f"{path} ({len(lines):,} example{'s' if len(lines) != 1 else ''})" for path, lines in zip(outputs, prepared.lines.values())]
    if dry_run:
        echo(f"dry run: would write {' and '.join(counts)}; nothing written")
        return
    echo(style("wrote", fg="green") + f" {' and '.join(counts)}")
    if prepared.output in ("chat", "prompt_completion", "dpo"):  # the formats `data check` reads
        check = f"ftops data check {outputs[0]}" + (f" --validation {outputs[1]}" if len(outputs) > 1 else "")
        echo(f"next: {check}")


def _opt(*names: str, help: str):
    return typer.Option(None, *names, help=help, show_default=False)


def prepare(
    input_file: Path = typer.Argument(..., metavar="INPUT", help="CSV, TSV, XLSX, JSON array or JSONL file "
                                      "(never modified)", show_default=False),
    out: Optional[Path] = _opt("--out", "-o", help="JSONL file to write; with --split, the training file "
                               "(default: INPUT_prepared.jsonl, or INPUT_prepared_train.jsonl)"),
    validation_out: Optional[Path] = _opt("--validation-out", help="validation file of --split (default: OUT with "
                                          "'train' in its name replaced by 'valid', else OUT_valid.jsonl)"),
    to: Optional[str] = _opt("--format", help="chat | prompt-completion | gemini (Vertex AI contents) | dpo "
                             "(default: the input's own)"),
    input_format: Optional[str] = _opt("--input-format", help="csv | tsv | xlsx | json | jsonl (default: from "
                                       "the file's name and content)"),
    sheet: Optional[str] = _opt("--sheet", help="XLSX sheet to read (default: the first)"),
    prompt_column: Optional[str] = _opt("--prompt-column", help="column holding the prompt"),
    completion_column: Optional[str] = _opt("--completion-column", help="column holding the completion (label)"),
    system_column: Optional[str] = _opt("--system-column", help="column holding a system message"),
    user_column: Optional[str] = _opt("--user-column", help="column holding the user message"),
    assistant_column: Optional[str] = _opt("--assistant-column", help="column holding the assistant answer"),
    preferred_column: Optional[str] = _opt("--preferred-column", help="DPO: column holding the preferred answer"),
    non_preferred_column: Optional[str] = _opt("--non-preferred-column",
                                               help="DPO: column holding the non-preferred answer"),
    system: Optional[str] = _opt("--system", help="system message for every example made from columns or from "
                                 "prompt/completion rows"),
    fix: List[str] = typer.Option([], "--fix", help="apply a fix (repeatable): strip-whitespace, drop-empty, "
                                  "prompt-separator, completion-leading-space, completion-stop, dedupe, drop-long",
                                  show_default=False),
    fix_all: bool = typer.Option(False, "--fix-all", help="apply every fix that suits the data"),
    separator: Optional[str] = _opt("--separator", help="prompt separator; \\n and \\t are understood "
                                    "(default: the prompts' common ending, else '\\n\\n###\\n\\n')"),
    stop: Optional[str] = _opt("--stop", help="completion stop sequence (end token) (default: the completions' "
                               "common ending on whole words, else '\\n')"),
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens", min=1, show_default=False,
                                             help="drop-long: token limit per example"),
    max_chars: Optional[int] = typer.Option(None, "--max-chars", min=1, show_default=False,
                                            help="drop-long: character limit per example"),
    model: Optional[str] = _opt("--model", help="base model: sets the tokenizer, and the example limit of "
                                "drop-long"),
    split: Optional[float] = _opt("--split", help="hold out this share for validation, e.g. 0.2"),
    stratify: bool = typer.Option(False, "--stratify", help="keep class proportions in both files (label: the "
                                  "completion, or the last assistant message)"),
    seed: int = typer.Option(0, "--seed", help="seed of the split: the same seed gives the same files"),
    dry_run: bool = typer.Option(False, "--dry-run", help="report what would change; write nothing"),
    force: bool = typer.Option(False, "--force", help="replace output files that exist (never the input)"),
) -> int:
    """Turn a CSV, TSV, XLSX, JSON array or JSONL file into ready JSONL files.

    Maps columns to examples (found by name, or named with the --*-column options), converts between formats
    (--format), applies the fixes asked for and suggests the others, splits off a validation file (--split,
    --stratify). Every change is printed with the input rows it touched; rows are numbered as in the input
    (row 1 of a table is its header). Writes new files only: the input is never modified.

    Example: ftops data prepare tickets.csv -o train.jsonl --prompt-column text --completion-column label
    --fix-all --split 0.2 --stratify --seed 7
    """
    from ftops import catalog
    from ftops.dataset.fixes import FixSettings
    from ftops.dataset.mapping import ColumnOptions
    from ftops.dataset.prepare import PrepareOptions, check_outputs, default_outputs, prepare as run, write
    from ftops.dataset.fixes import NAMES
    from ftops.dataset.sources import KINDS

    if to is not None and to not in FORMATS:
        raise typer.BadParameter(f"{to!r} is not one of {', '.join(FORMATS)}", param_hint="--format")
    if input_format is not None and input_format not in KINDS:
        raise typer.BadParameter(f"{input_format!r} is not one of {', '.join(KINDS)}", param_hint="--input-format")
    unknown = [name for name in fix if name not in NAMES]
    if unknown:
        raise typer.BadParameter(f"unknown fix {unknown[0]!r}; the fixes are {', '.join(NAMES)}", param_hint="--fix")
    if split is None and (stratify or validation_out is not None):
        raise typer.BadParameter("needs --split", param_hint="--stratify" if stratify else "--validation-out")
    if system is not None and system_column is not None:
        raise typer.BadParameter("give a system message column or a fixed text, not both", param_hint="--system")
    from ftops.providers.registry import model_facts

    info = model_facts(model)[1] if model else None
    settings = FixSettings(separator=unescape(separator), stop=unescape(stop),
                           max_tokens=max_tokens or (info.context if info and max_chars is None else None),
                           max_chars=max_chars, encoding=info.encoding if info else catalog.DEFAULT_ENCODING)
    columns = ColumnOptions(prompt=prompt_column, completion=completion_column, system=system_column,
                            user=user_column, assistant=assistant_column, preferred=preferred_column,
                            non_preferred=non_preferred_column, system_text=unescape(system))
    options = PrepareOptions(to=FORMATS[to] if to else None, input_kind=input_format, sheet=sheet, columns=columns,
                             fixes=frozenset(fix), fix_all=fix_all, settings=settings, split=split,
                             stratify=stratify, seed=seed)
    base = context.current.directory
    src = base / input_file
    if not src.is_file():
        raise DatasetError(f"{input_file}: no such file", hint="check the path (relative paths are from where you run)")
    train_out, valid_out = default_outputs(src, base / out if out else None,
                                           base / validation_out if validation_out else None, split is not None)
    targets = [train_out] + ([valid_out] if valid_out is not None else [])
    check_outputs(src, targets, force or dry_run, _shown)  # before the work, so a refusal is quick
    prepared = run(src, options)
    if not dry_run:
        write(dict(zip(targets, prepared.lines.values())))
    _print(prepared, options, [_shown(p) for p in targets], dry_run)
    return EXIT_OK
