"""Custom metrics: a command of the project's computes them from the predictions.

The command comes from the spec, so a pull request can change it: treat it like CI code and review it as such.
ftops runs it only where evals run (``ftops apply`` and ``ftops eval``; never ``ftops plan``, which is what a
pull request's workflow runs), without a shell, in the project root, with a timeout, and without the API keys
ftops knows of in its environment. It reads one JSON object per example on stdin::

    {"line": 3, "input": <messages or prompt>, "expected": "billing", "output": "billing", "model": "ft:..."}

and prints one JSON object on stdout: ``{"metric": number, ...}`` (reported as ``<name>.<metric>``), or one number
(reported as ``<name>``). Anything else, a non-zero exit or the timeout is an EvalError with its stderr's tail.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
from pathlib import Path
from typing import Any

from ftops.eval import EvalError
from ftops.eval.config import Custom

STDERR_CHARS = 400
SECRET_VARIABLES = ("FTOPS_CREDENTIALS",)


def environment(secrets: set[str]) -> dict[str, str]:
    """This process's environment without the variables that hold keys (``secrets`` and the known ones)."""
    from ftops.providers import registry

    known = {registry.kind(t).key_env for t in registry.types()} | secrets | set(SECRET_VARIABLES)
    return {k: v for k, v in os.environ.items() if k not in known}


def run(custom: Custom, rows: list[dict[str, Any]], *, root: Path, secrets: set[str]) -> dict[str, float]:
    stdin = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    what = f"custom metric {custom.name!r} ({' '.join(custom.argv)})"
    try:
        done = subprocess.run(list(custom.argv), input=stdin, capture_output=True, text=True, cwd=root,
                              timeout=custom.timeout, env=environment(secrets), shell=False, check=False)
    except FileNotFoundError:
        raise EvalError(f"{what}: {custom.argv[0]!r} was not found", hint="commands run in the project root, "
                        "without a shell; give the program's name or a path relative to the root") from None
    except subprocess.TimeoutExpired:
        raise EvalError(f"{what} did not finish within {custom.timeout:g} seconds",
                        hint="raise its timeout: in the spec's eval.custom entry") from None
    except OSError as exc:
        raise EvalError(f"{what} could not run: {exc.strerror or exc}") from None
    if done.returncode != 0:
        raise EvalError(f"{what} exited with {done.returncode}: {done.stderr.strip()[-STDERR_CHARS:] or '(no output)'}")
    try:
        found = json.loads(done.stdout)
    except ValueError:
        raise EvalError(f"{what} printed no JSON: {done.stdout.strip()[:STDERR_CHARS]!r}") from None
    if _number(found):
        return {custom.name: float(found)}
    if isinstance(found, dict) and found and all(isinstance(k, str) and _number(v) for k, v in found.items()):
        return {f"{custom.name}.{k}": float(v) for k, v in found.items()}
    raise EvalError(f"{what} must print a JSON object of metric name -> number (or one number), not "
                    f"{done.stdout.strip()[:STDERR_CHARS]!r}")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
