"""What every command needs from the invocation: the project directory, verbosity, and the injectable clock
and sleep (tests pass their own through ``ftops.cli.main.main(argv, runtime=...)``)."""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable


def _today() -> dt.date:
    forced = os.environ.get("FTOPS_TODAY")  # reproducible plans (golden files, rehearsals)
    return dt.date.fromisoformat(forced) if forced else dt.date.today()


@dataclass
class Runtime:
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)
    today: Callable[[], dt.date] = _today
    poll_interval: float = 2.0


@dataclass
class Invocation:
    directory: Path = field(default_factory=Path.cwd)
    verbose: int = 0
    runtime: Runtime = field(default_factory=Runtime)


current = Invocation()
