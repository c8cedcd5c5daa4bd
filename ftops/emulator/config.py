"""The emulator's settings: one frozen dataclass, shared by the Python API and `ftops emulator serve`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

FAULT_KINDS = ("429", "500", "503", "drop", "slow", "drop_after")


@dataclass(frozen=True)
class EmulatorConfig:
    state_dir: Path = Path(".ftops/local")
    api: str = "openai"  # the wire dialect: which provider's API it imitates
    host: str = "127.0.0.1"
    port: int = 0
    job_duration: float = 3.0  # seconds of (unpaused) emulator clock from creation to success
    deploy_duration: float = 30.0  # seconds of emulator clock a deployment provisions (dialects with deployments)
    fault_rate: float = 0.0  # probability in [0, 1] that a /v1 request gets a fault
    fault_kinds: tuple[str, ...] | None = None  # None: all of FAULT_KINDS
    seed: int = 0  # fault decisions are a pure function of (seed, request number)
    api_key: str | None = None  # None: any non-empty bearer token is accepted
    org: str = "ftops-local"
    training_cutoff: dt.date | str | None = None  # no new jobs after this day (emulator clock)
    shutdown_dates: dict[str, str | None] | None = field(default=None)  # overrides the model table
    latency: tuple[float, float] = (0.0, 0.0)  # every API request waits a uniform time in this range first
    create_latency: float = 0.0  # a POST (a create) waits this much longer before it is processed
    # Called with (method, path, status, content_type, body bytes) for every answer (see ftops/emulator/answers.py)
    on_response: Callable[[str, str, int, str, bytes], None] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "state_dir", Path(self.state_dir))
        from ftops.emulator.dialects import DIALECTS

        if self.api not in DIALECTS:
            raise ValueError(f"unknown api {self.api!r}; the emulator speaks {', '.join(DIALECTS)}")
        if not 0.0 <= float(self.fault_rate) <= 1.0:
            raise ValueError(f"fault_rate must be in [0, 1], got {self.fault_rate}")
        if self.fault_kinds is not None:
            unknown = sorted(set(self.fault_kinds) - set(FAULT_KINDS))
            if unknown:
                raise ValueError(f"unknown fault kinds {unknown}; known: {', '.join(FAULT_KINDS)}")
            object.__setattr__(self, "fault_kinds", tuple(self.fault_kinds))
        if isinstance(self.training_cutoff, str):
            object.__setattr__(self, "training_cutoff", dt.date.fromisoformat(self.training_cutoff))
        if self.job_duration <= 0:
            raise ValueError("job_duration must be positive")
        if self.deploy_duration < 0:
            raise ValueError("deploy_duration must not be negative")
        low, high = self.latency
        if not 0 <= low <= high or self.create_latency < 0:
            raise ValueError("latency must be 0 <= low <= high and create_latency >= 0")
