"""validate, plan, apply, status, output: the commands that work on a project."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    pass
