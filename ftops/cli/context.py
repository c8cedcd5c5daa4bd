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
    if not forced:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(forced)
    except ValueError:
        from ftops.errors import ConfigError

        raise ConfigError(f"FTOPS_TODAY={forced!r} is not a date; use YYYY-MM-DD") from None


def _poll_interval() -> float:
    """Seconds between job polls under ``apply --wait``; FTOPS_POLL_INTERVAL overrides (rehearsals, tests)."""
    raw = os.environ.get("FTOPS_POLL_INTERVAL", "").strip()
    try:
        value = float(raw) if raw else 2.0
    except ValueError:
        return 2.0
    return value if 0.0 < value <= 3600.0 else 2.0


@dataclass
class Runtime:
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)
    today: Callable[[], dt.date] = _today
    poll_interval: float = field(default_factory=_poll_interval)


@dataclass
class Invocation:
    directory: Path = field(default_factory=Path.cwd)
    verbose: int = 0
    runtime: Runtime = field(default_factory=Runtime)
    trusted_config: Path | None = None  # --trusted-config (else FTOPS_TRUSTED_CONFIG)


current = Invocation()
