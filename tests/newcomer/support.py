"""Helpers for the newcomer tests (init, graph, completion, pre-commit hooks): golden files under ``golden/``.

Regenerate them with ``FTOPS_UPDATE_GOLDEN=1 pytest tests/newcomer`` and review the diff."""

from __future__ import annotations

import os
from pathlib import Path

from tests.plan_formats.support import normalise

GOLDEN = Path(__file__).parent / "golden"


def assert_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    text = normalise(text)
    if os.environ.get("FTOPS_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"no golden file {path}; run with FTOPS_UPDATE_GOLDEN=1 to create it"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"


def cli(directory: Path, *args: str, runtime=None):
    """Run ftops in-process as if started in ``directory``; a Result with rc, out and err."""
    import contextlib
    import io

    from ftops.cli.main import main
    from tests.conftest import Result

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["-C", str(directory), *args], runtime=runtime)
    return Result(rc, out.getvalue(), err.getvalue())
