"""`ftops migrate`: print (or, with --write, make) the spec edits that move closing specs to another provider."""

from __future__ import annotations

import difflib
from dataclasses import replace
from typing import List, Optional

import typer

from ftops.cli import context
from ftops.cli.output import EXIT_ERROR, EXIT_OK, echo


def _mappings(values: list[str]) -> dict[str, str]:
    out = {}
    for value in values:
        old, sep, new = value.partition("=")
        if not sep or not old or not new:
            raise typer.BadParameter(f"{value!r} is not OLD=NEW", param_hint="--base-model")
        out[old] = new
    return out


def migrate(
    to: str = typer.Option(..., "--to", help="The provider (a key of providers: in ftops.yaml) to move specs to."),
    base_model: Optional[List[str]] = typer.Option(None, "--base-model", help="OLD=NEW: the base model to use on "
                                                   "the new provider instead of OLD (repeatable)."),
    source: Optional[str] = typer.Option(None, "--from", help="Move every spec on this provider (default: the "
                                         "specs whose provider stops training or whose model shuts down soon)."),
    spec: Optional[List[str]] = typer.Option(None, "--spec", help="Only these specs (and their children)."),
    write: bool = typer.Option(False, "--write", help="Make the edits (comments and layout are kept)."),
) -> int:
    """Move specs to another provider: the edits (provider, base model, hyperparameters mapped to what it accepts,
    suffix made to fit), why each spec moves, and the estimated cost there. Prints them; --write makes them.
    Then `ftops plan` shows the replacements, and `ftops apply` trains there while the old pins keep serving."""
    from ftops import cost
    from ftops.cli.project_cmds import _root
    from ftops.migrate import plan_moves
    from ftops.plan import estimate
    from ftops.spec import normalise_method
    from ftops.specedit import edit_spec_text
    from ftops.workspace import load_workspace, plan_options

    ws = load_workspace(_root())
    moves = plan_moves(ws.specs, ws.config, ws.lock, to=to, base_models=_mappings(base_model or []), source=source,
                       only=frozenset(spec or ()), today=context.current.runtime.today())
    if not moves:
        echo(f"Nothing to move to {to}: no spec's provider stops training and no pinned or base model shuts down "
             f"within {ws.config.warn_days} days (use --from PROVIDER to move the specs of a provider anyway).")
        return EXIT_OK
    texts: dict[str, str] = {}
    opts = plan_options(ws, today=context.current.runtime.today())
    for move in moves:
        original = ws.spec(move.spec)
        assert original is not None
        path = ws.config.root / move.file
        before = texts.get(move.file) or path.read_text(encoding="utf-8")
        texts[move.file] = edit_spec_text(before, move.spec, move.set, move.remove)
        echo(f"{move.spec} ({move.source}): {original.provider} -> {to}, because {move.why}")
        for note in move.notes:
            echo(f"    {note}")
        hyper = {k: v for k, v in original.method["hyperparameters"].items()
                 if ("method", "hyperparameters", k) not in move.remove}
        moved = replace(original, provider=to, base_model=move.set.get(("base_model",), original.base_model),
                        method={**original.method, "hyperparameters": hyper})
        root = moved.base_model or _root_base(ws, moved)
        if moved.name in ws.facts:
            est = estimate(moved, ws.facts[moved.name], root, opts)
            echo(f"    on {to}: {est.examples:,} examples, {est.billing_tokens:,} tokens x {est.epochs} epochs, "
                 f"est. {cost.format_usd(est.usd)}")
    for file, text in texts.items():
        before = (ws.config.root / file).read_text(encoding="utf-8")
        echo("".join(difflib.unified_diff(before.splitlines(keepends=True), text.splitlines(keepends=True),
                                          fromfile=f"a/{file}", tofile=f"b/{file}")).rstrip("\n"))
    if not write:
        echo(f"\n{len(moves)} spec(s) would move to {to}. Run again with --write to make these edits, then "
             "`ftops plan`.")
        return EXIT_OK
    for file, text in texts.items():
        (ws.config.root / file).write_text(text, encoding="utf-8")
    try:
        load_workspace(ws.config.root, check_data=False)
    except Exception as exc:  # noqa: BLE001 - report that the edit needs a hand, the files are already written
        echo(f"error: the edited specs do not validate: {exc}", err=True)
        return EXIT_ERROR
    echo(f"\nWrote {len(texts)} file(s); {len(moves)} spec(s) now train on {to}. Review with `git diff`, then "
         "`ftops plan`: the old pins keep serving until the new jobs succeed.")
    return EXIT_OK


def _root_base(ws, spec) -> str | None:
    from ftops.spec import root_base_models

    return root_base_models(ws.specs).get(spec.name)

