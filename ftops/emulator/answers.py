"""What the emulator answered, for whoever wants to check it: every response goes to the config's
``on_response`` (in-process emulators) and, while ``FTOPS_EMULATOR_RECORD`` names a directory, is appended as one
JSON line to ``<dir>/answers-<pid>.jsonl`` (also for ``ftops emulator serve`` subprocesses, which inherit the
environment). The test suite checks every recorded answer against the provider's published OpenAPI document.

The variable is read at each answer, so a long-lived in-process emulator records into whatever directory is named
at the time (a test suite gives each test its own). A line is ``{"api", "method", "path", "status",
"content_type", "body"}``: ``body`` is the parsed JSON, or null for bytes (with ``"bytes": <length>``).
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path
from typing import Callable

RECORD_ENV = "FTOPS_EMULATOR_RECORD"

# (method, path, status, content_type, body bytes) -> None
OnResponse = Callable[[str, str, int, str, bytes], None]

_lock = threading.Lock()


def record(api: str, method: str, path: str, status: int, content_type: str, body: bytes) -> None:
    """Append one answer to the recording directory, when ``FTOPS_EMULATOR_RECORD`` names one."""
    directory = os.environ.get(RECORD_ENV)
    if not directory:
        return
    line: dict = {"api": api, "method": method, "path": path, "status": status, "content_type": content_type,
                  "body": None}
    if "json" in content_type:
        try:
            line["body"] = json.loads(body) if body else None
        except ValueError:
            line["body_text"] = body[:2000].decode("utf-8", "replace")
    else:
        line["bytes"] = len(body)
    target = Path(directory) / f"answers-{os.getpid()}.jsonl"
    with _lock:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line, sort_keys=True) + "\n")


def notify(on_response: OnResponse | None, api: str, method: str, path: str, status: int, content_type: str,
           body: bytes) -> None:
    """Tell the observers about one answer; an observer that fails never breaks serving (it is said on stderr)."""
    for observer in (on_response, lambda *a: record(api, *a)):
        if observer is None:
            continue
        try:
            observer(method, path, status, content_type, body)
        except Exception as exc:  # noqa: BLE001 - an observer's bug must not become the client's 500
            print(f"ftops emulator: response observer failed: {type(exc).__name__}: {exc}", file=sys.stderr)
