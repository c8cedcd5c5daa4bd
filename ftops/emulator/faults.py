"""Fault injection for /v1 requests: a pure function of (seed, request number), so runs are repeatable.

Kinds: ``429`` (with retry-after headers), ``500``, ``503``, ``drop`` (close the connection, no response),
``slow`` (answer after 1-2 s), ``drop_after`` (perform and commit the request, then close without answering).
"""

from __future__ import annotations

import random
import threading

from ftops.emulator.apierror import ApiError
from ftops.emulator.config import FAULT_KINDS

RETRY_AFTER_MS = 250


class Faults:
    def __init__(self, rate: float = 0.0, kinds: tuple[str, ...] | None = None, seed: int = 0):
        self._lock = threading.Lock()
        self.configure(rate, kinds, seed)

    def configure(self, rate: float, kinds, seed: int) -> dict:
        rate = float(rate)
        kinds = tuple(kinds) if kinds else FAULT_KINDS
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be in [0, 1], got {rate}")
        unknown = sorted(set(kinds) - set(FAULT_KINDS))
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}; known: {', '.join(FAULT_KINDS)}")
        with self._lock:
            self.rate, self.kinds, self.seed, self._count = rate, kinds, int(seed), 0
        return self.describe()

    def describe(self) -> dict:
        return {"rate": self.rate, "kinds": list(self.kinds), "seed": self.seed, "requests": self._count}

    def next(self) -> tuple[str | None, float]:
        """The fault for the next /v1 request (or None) and, for ``slow``, its delay in seconds."""
        with self._lock:
            self._count += 1
            rng = random.Random(f"{self.seed}:{self._count}")
            if self.rate <= 0 or rng.random() >= self.rate:
                return None, 0.0
            return rng.choice(self.kinds), rng.uniform(1.0, 2.0)


def error_for(kind: str) -> ApiError | None:
    if kind == "429":
        return ApiError(429, "Rate limit reached for requests (injected by the ftops emulator). Please retry.",
                        code="rate_limit_exceeded", type="requests",
                        headers={"retry-after": "1", "retry-after-ms": str(RETRY_AFTER_MS)})
    if kind == "500":
        return ApiError(500, "The server had an error while processing your request (injected fault).",
                        type="server_error")
    if kind == "503":
        return ApiError(503, "The server is overloaded or not ready yet (injected fault).", type="server_error")
    return None
