"""`ftops data ...` commands: check datasets before anything is uploaded, and prepare them from spreadsheets."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path
from typing import List, Optional

import typer

from ftops.cli import context, prepare_cmd
from ftops.cli.output import EXIT_ERROR, EXIT_OK, echo, emit_json, style, warn
from ftops.config import CONFIG_NAME, find_root, load_config
from ftops.errors import DatasetError

app = typer.Typer(help="Check fine-tuning datasets (format, errors, tokens, cost) and prepare them from CSV, TSV, "
                       "XLSX or JSON.", no_args_is_help=True)

METHODS = ("supervised", "dpo", "reinforcement")
SHOWN_LINES = 5


def _n_epochs(value: str) -> int | str:
    if value == "auto":
        return value
    if value.isdigit() and 1 <= int(value) <= 50:
        return int(value)
    raise typer.BadParameter(f"{value!r} is not 'auto' or a whole number from 1 to 50", param_hint="--n-epochs")


def _project() -> tuple[Path | None, dict[str, float] | None]:
    """The project's state dir (for the result cache) and price overrides, when run inside a project."""
    root = find_root(context.current.directory)
    if not (root / CONFIG_NAME).is_file():
        return None, None
    config = load_config(root)
    return config.cache_dir, config.prices or None


def _lines(lines: tuple[int, ...]) -> str:
    if not lines:
        return ""
    shown = ", ".join(map(str, lines[:SHOWN_LINES]))
    return f" (line{'s' if len(lines) > 1 else ''} {shown}{', ...' if len(lines) > SHOWN_LINES else ''})"


def _cost(usd: float | None, model: str | None) -> str:
    if usd is None:
        return "est. cost unknown" + ("" if model else " (give --model)")
    return f"est. cost ${usd:,.2f} on {model}" if usd >= 1 else f"est. cost ${usd:.4f} on {model}"


def _print_report(report, model: str | None, role: str, note: str = "") -> None:
    t = report.tokens
    limit = f"; {t.over_limit:,} over the limit" if t.over_limit else ""
    name = f"{report.path}" + (" (validation)" if role == "validation" else "")
    if any(f.code == "not_jsonl" for f in report.errors):  # a spreadsheet or JSON array: nothing was counted
        echo(style(name, bold=True) + ": not JSONL")
    else:
        echo(style(name, bold=True) + f": {report.format}, {report.examples:,} examples, {t.total:,} tokens "
             f"({t.encoding}; billing {t.billing:,} per epoch; longest example {t.max_per_example:,}{limit})")
    if note:
        echo(f"  {note}")
    if role == "validation":
        echo("  validation data (not trained on or billed)")
    else:
        echo(f"  {report.epochs} epoch(s), {_cost(report.estimated_cost_usd, model)}")
    for finding in report.errors:
        where = f"{report.path}:{finding.line}" if finding.line is not None else f"{report.path}"
        echo(style(f"  error: {where}: [{finding.code}] {finding.message}", fg="red"))
    for warning in report.warnings:
        echo(style(f"  warning: [{warning.code}] {warning.message}{_lines(warning.lines)}", fg="yellow"))


@app.command("check")
def check(
    files: List[Path] = typer.Argument(..., help="JSONL training files", show_default=False),
    validation: List[Path] = typer.Option([], "--validation", help="a JSONL validation file (repeatable): checked "
                                          "as validation data and for examples shared with the training files",
                                          show_default=False),
    model: Optional[str] = typer.Option(None, "--model", help="base model: sets tokenizer, token limit and price "
                                        "[default: in a project, the base model of the spec that uses the file]"),
    method: Optional[str] = typer.Option(None, "--method", help="supervised | dpo | reinforcement [default: in a "
                                         "project, the method of the spec that uses the file; else supervised]"),
    n_epochs: str = typer.Option("auto", "--n-epochs", help="'auto' (the service's default rule) or 1-50"),
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of text"),
) -> int:
    """Check datasets offline: format, errors with line numbers, advice, tokens and estimated cost.

    Exits 1 when any file has errors. Shared examples are reported: among training files, and training/validation.
    Inside a project, a file a spec uses is checked as that spec uses it (method, base model, training or
    validation) unless --model or --method says otherwise."""
    from ftops.dataset import check_file, check_overlap

    if method is not None and method not in METHODS:
        raise typer.BadParameter(f"{method!r} is not one of {', '.join(METHODS)}", param_hint="--method")
    epochs = _n_epochs(n_epochs)
    cache_dir, prices = _project()
    base = context.current.directory
    given = [(f, "training") for f in files] + [(f, "validation") for f in validation]
    for f, _ in given:  # all of them before the first (maybe long) scan
        if not (base / f).is_file():
            raise DatasetError(f"{f}: no such file", hint="check the path (relative paths are from where you run)")
    from ftops import cost
    from ftops.providers.registry import kind as kind_of
    from ftops.providers.registry import model_facts

    usages = {}
    if cache_dir is not None and model is None and method is None:  # in a project, and told nothing else
        from ftops.cli.data_usage import dataset_usages

        known = dataset_usages(cache_dir.parent)
        usages = {i: known[(base / f).resolve()] for i, (f, _) in enumerate(given) if (base / f).resolve() in known}
    kind, info = model_facts(model) if model else (None, None)
    if model and info is not None:
        if not info.known:
            warn(f"--model {model}: no provider type ftops knows offers this model; counting with "
                 f"{info.encoding} and no token limit or price")
    reports: list = []
    settings: list[tuple] = []
    for i, (f, role) in enumerate(given):
        used = usages.get(i)
        if used is not None:
            used_kind = kind_of(used.provider_type)
            used_info = used_kind.lookup(used.model) if used.model else None
            setting: tuple = (used.role, used.model, used.method, used.n_epochs if n_epochs == "auto" else epochs,
                              used_kind, used_info)
        else:
            setting = (role, model, method or "supervised", epochs, kind if model else None, info if model else None)
        the_role, the_model, how, n, the_kind, the_info = setting
        price = cost.price_per_1m(the_model, the_info, method=how, overrides=prices) \
            if the_model and the_info else None
        reports.append(check_file(base / f, info=the_info, method=how, n_epochs=n, price=price, cache_dir=cache_dir,
                                  role=the_role, default_epochs=the_kind.capabilities.default_epochs
                                  if the_kind else "auto").with_path(f))
        settings.append(setting)
    roles = [setting[0] for setting in settings]
    trains = [r for r, role in zip(reports, roles) if role == "training"]
    valids = [r for r, role in zip(reports, roles) if role == "validation"]
    pairs = [(a, b, True) for a, b in combinations(trains, 2)] + [(t, v, False) for v in valids for t in trains]
    overlaps = [(a, b, w) for a, b, both in pairs
                for w in check_overlap(a.with_path(base / a.path), b.with_path(base / b.path), cache_dir=cache_dir,
                                       both_training=both)]
    shared_with_validation = any(w.code == "train_validation_overlap" for _, _, w in overlaps)
    if as_json:
        emit_json({"files": [{**r.to_json(), "role": role, "spec": usages[i].spec if i in usages else None}
                             for i, (r, role) in enumerate(zip(reports, roles))],
                   "overlap": [{"files": [str(a.path), str(b.path)], **w.to_json()} for a, b, w in overlaps]})
    else:
        for i, (report, (role, used_model, *_)) in enumerate(zip(reports, settings)):
            note = (f"checked as spec {usages[i].spec}'s {role} file ({usages[i].method}"
                    f"{', ' + used_model if used_model else ''})") if i in usages else ""
            _print_report(report, used_model, role, note)
        for a, b, w in overlaps:
            level = "error" if w.code == "train_validation_overlap" else "warning"
            echo(style(f"{level}: [{w.code}] {b.path} shares examples with {a.path}: {w.message}{_lines(w.lines)}",
                       fg="red" if level == "error" else "yellow"))
        bad = sum(1 for r in reports if not r.ok)
        echo(f"{bad} of {len(reports)} file(s) have errors." if bad else
             "the validation data shares examples with the training data." if shared_with_validation else
             f"{len(reports)} file(s) OK.")
    return EXIT_ERROR if any(not r.ok for r in reports) or shared_with_validation else EXIT_OK


app.command("prepare")(prepare_cmd.prepare)
