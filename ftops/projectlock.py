"""One apply at a time per checkout: a process lock (filelock) around apply and every lockfile write.

The holder writes who it is next to the lock, so a second process that gives up can name it.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path

import filelock

from ftops.errors import LockHeldError


class ProjectLock:
    def __init__(self, state_dir: Path, *, timeout: float = 0.0, command: str = "apply"):
        state_dir.mkdir(parents=True, exist_ok=True)
        self._path = state_dir / "apply.lock"
        self._info = state_dir / "apply.lock.json"
        self._lock = filelock.FileLock(str(self._path))
        self.timeout = timeout
        self.command = command

    def holder(self) -> str:
        try:
            info = json.loads(self._info.read_text(encoding="utf-8"))
            started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.get("started", 0)))
            return f"`ftops {info.get('command', '?')}` (pid {info.get('pid')} on {info.get('host')}, since {started})"
        except (OSError, ValueError):
            return "another ftops process"

    def __enter__(self) -> "ProjectLock":
        try:
            self._lock.acquire(timeout=self.timeout)
        except filelock.Timeout:
            raise LockHeldError(
                f"another ftops run holds the project lock: {self.holder()}",
                hint="wait for it to finish, or pass --lock-timeout SECONDS to wait for it") from None
        info = {"pid": os.getpid(), "host": socket.gethostname(), "command": self.command, "started": time.time(),
                "argv0": os.path.basename(sys.argv[0])}
        self._info.write_text(json.dumps(info), encoding="utf-8")
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._info.unlink()
        except OSError:
            pass
        self._lock.release()
