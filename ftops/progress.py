"""Live progress on a terminal: one bar per job followed (steps, status) and per large upload (bytes), drawn
with rich (installed with typer). Not on a terminal (CI logs, pipes) nothing changes: the plain lines stay as
they are. ``FTOPS_PROGRESS=on|off`` overrides the terminal check."""

from __future__ import annotations

import os
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Callable, Iterator

LARGE_UPLOAD = 8 << 20  # bytes: smaller uploads finish before a bar would be worth drawing


def wanted(stream: IO[str] | None = None) -> bool:
    forced = os.environ.get("FTOPS_PROGRESS", "").strip().lower()
    if forced in ("on", "1", "always"):
        return True
    if forced in ("off", "0", "never") or os.environ.get("TERM") == "dumb":
        return False
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())


class Live:
    """Bars for jobs (``job``) and uploads (``upload``); ``say`` prints a line above them."""

    def __init__(self, stream: IO[str] | None = None, *, large_upload: int = LARGE_UPLOAD):
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = Console(file=stream or sys.stdout, highlight=False, force_terminal=True)
        self._bars = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[detail]}"),
                              TimeElapsedColumn(), console=self.console, transient=False)
        self._bytes = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                               console=self.console, transient=True)
        self._tasks: dict[str, Any] = {}
        self._mutex = threading.Lock()
        self.large_upload = large_upload

    def __enter__(self) -> "Live":
        self._bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bars.stop()
        self._bytes.stop()

    def say(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def job(self, spec: str, status: str, step: int | None = None, total: int | None = None) -> None:
        """A job's bar: its status, and its steps once the provider reports them."""
        with self._mutex:
            task = self._tasks.get(f"job:{spec}")
            if task is None:
                task = self._bars.add_task(spec, total=None, detail=status)
                self._tasks[f"job:{spec}"] = task
            changes: dict[str, Any] = {"detail": status if step is None else f"{status} step {step}"
                                       + (f"/{total}" if total else "")}
            if total:
                changes["total"] = total
            if step is not None:
                changes["completed"] = step
            if status in ("succeeded", "completed", "COMPLETED", "SUCCEEDED", "JOB_STATE_COMPLETED"):
                changes["completed"] = total or 1
                changes["total"] = total or 1
            self._bars.update(task, **changes)

    def upload(self, path: Path, done: int, total: int) -> None:
        if total < self.large_upload:
            return
        with self._mutex:
            key = f"upload:{path}"
            task = self._tasks.get(key)
            if task is None:
                if not self._tasks.get("uploads-started"):
                    self._bytes.start()
                    self._tasks["uploads-started"] = True
                task = self._bytes.add_task(f"uploading {path.name}", total=total)
                self._tasks[key] = task
            self._bytes.update(task, completed=done)


@contextmanager
def live_or_plain(say: Callable[[str], None], stream: IO[str] | None = None) -> Iterator[Live | None]:
    """A Live display while the block runs, uploads reported to it, when ``wanted``; else None (plain lines)."""
    if not wanted(stream):
        yield None
        return
    from ftops import filehash

    with Live(stream) as live:
        filehash.upload_watcher = live.upload
        try:
            yield live
        finally:
            filehash.upload_watcher = None
