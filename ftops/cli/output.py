"""Terminal output helpers shared by every command: colour only on a terminal, errors to stderr."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import typer

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_BUG = 3
EXIT_INTERRUPTED = 130


def use_colour(stream=None) -> bool:
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return bool(getattr(stream, "isatty", lambda: False)())


def style(text: str, *, fg: str | None = None, bold: bool = False, stream=None) -> str:
    if not use_colour(stream):
        return text
    return typer.style(text, fg=fg, bold=bold)


def echo(text: str = "", *, err: bool = False) -> None:
    typer.echo(text, err=err)


def warn(text: str) -> None:
    typer.echo(style(f"warning: {text}", fg="yellow", stream=sys.stderr), err=True)


def emit_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False))
