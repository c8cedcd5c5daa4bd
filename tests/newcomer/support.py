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
