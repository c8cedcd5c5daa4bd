"""Which format a file is in, which formats a method and a base model accept, and how the two fit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ftops.catalog import ModelInfo
from ftops.dataset import chat, dpo, prompt_completion, reinforcement
from ftops.dataset.reader import head_lines
from ftops.dataset.report import Finding

METHODS = ("supervised", "dpo", "reinforcement")
CHECKS = {"chat": chat.check, "prompt_completion": prompt_completion.check, "dpo": dpo.check,
          "reinforcement": reinforcement.check}
SNIFF_LINES = 1000  # lines read from the top of a file to find its format
SNIFF_LINE_BYTES = 1 << 20  # longer lines are skipped there (the scan reads them)


def detect(example: Any, method: str) -> str:
    if not isinstance(example, dict):
        return "unknown"
    if "messages" in example:
        return "reinforcement" if method == "reinforcement" else "chat"
    if any(k in example for k in dpo.TOP_LEVEL_KEYS):
        return "dpo"
    if "prompt" in example or "completion" in example:
        return "prompt_completion"
    return "unknown"


def sniff(path: Path, method: str) -> str:
    """The format of the first line that parses to a recognisable example, or "unknown"."""
    for raw in head_lines(path, SNIFF_LINES, SNIFF_LINE_BYTES):
        try:
            fmt = detect(json.loads(raw.decode("utf-8")), method)
        except (ValueError, RecursionError):
            continue
        if fmt != "unknown":
            return fmt
    return "unknown"


def accepted(method: str, info: ModelInfo | None) -> tuple[str, ...]:
    """The formats a job of this method on this base model accepts (the first is the one to expect)."""
    if method == "dpo":
        return ("dpo",)
    if method == "reinforcement":
        return ("reinforcement",)
    if info is not None and info.known:
        return tuple(f for f in info.formats if f in ("chat", "prompt_completion")) or ("chat",)
    return ("chat", "prompt_completion")


def fit_problems(fmt: str, method: str, info: ModelInfo | None) -> list[Finding]:
    """File-level errors: the method does not suit the base model, or the data does not suit the method."""
    problems = []
    if info is not None and info.known and method not in info.methods:
        problems.append(Finding(None, "method_unsupported",
                                f"{info.name} cannot be fine-tuned with method {method!r} "
                                f"(it supports {', '.join(info.methods)})"))
    formats = accepted(method, info)
    if fmt != "unknown" and fmt not in formats:
        target = f"method {method!r}" + (f" on {info.name}" if info is not None and info.known else "")
        problems.append(Finding(None, "format_mismatch",
                                f"the data is in {fmt} format, but {target} needs {' or '.join(formats)}"))
    return problems
