"""One launching apply per project and provider, across machines.

Two checkouts of one repository (two CI runners, a laptop and CI) share no file system, so the project lock in
``.ftops/`` cannot keep them from starting the same job twice. Providers with a create-once key (a client-chosen
job id or submission id) are safe by themselves. For the others (OpenAI, Azure, Together) ftops holds a lease on
the provider itself while it uploads and starts jobs: a small marker file named after the project.

Acquiring: write my marker, then list the project's markers. If mine is the only live one, the lease is mine:
anyone who writes a marker after my listing will see mine and back off; anyone who wrote one before it would be in
my listing. Otherwise remove mine, wait a little (randomised, so two contenders do not keep colliding) and try
again, until the wait runs out. A marker is stale when it is older than ``TTL`` on the provider's own clock, or was
left by a process on this machine that no longer runs; stale markers are removed. Inside the lease, apply looks
for each job by its launch key before creating it, so the second apply adopts what the first started.
"""

from __future__ import annotations

import json
import logging
import os
import random
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from typing import Callable

from ftops.config import slug
from ftops.errors import LockHeldError
from ftops.providers.base import CachesListings, Marker

log = logging.getLogger("ftops.lease")
PREFIX = "ftops-lease"
TTL = 600  # seconds on the provider's clock after which a marker no renewal refreshed is stale
RENEW_AFTER = TTL / 3


def _host() -> str:
    return slug(socket.gethostname())[:24].replace(".", "-")


@dataclass
class _Held:
    marker: Marker
    since: float
    count: int = 0


class Leases:
    def __init__(self, project: str, *, wait: float = TTL, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, rng: random.Random | None = None):
        self.prefix = f"{PREFIX}.{slug(project)[:40]}."
        self.wait = wait
        self.sleep = sleep
        self.clock = clock
        self.rng = rng or random.Random()
        self.holder = f"{_host()}.{os.getpid()}"
        self._held: dict[str, _Held] = {}
        self._mutex = threading.Lock()
        self._acquiring: dict[str, threading.Lock] = {}

    def needed(self, provider) -> bool:
        return provider.capabilities.idempotency != "native" and hasattr(provider, "put_marker")

    def hold(self, provider) -> "_Hold":
        return _Hold(self, provider)

    # -- acquire / release --------------------------------------------------------------------------------
    def _enter(self, provider) -> None:
        with self._mutex:
            gate = self._acquiring.setdefault(provider.name, threading.Lock())
        with gate:
            with self._mutex:
                held = self._held.get(provider.name)
                if held is not None:
                    held.count += 1
                    renew = self.clock() - held.since > RENEW_AFTER
                else:
                    renew = False
            if held is not None:
                if renew:
                    self._renew(provider, held)
                return
            marker = self._acquire(provider)
            with self._mutex:
                self._held[provider.name] = _Held(marker, self.clock(), 1)

    def _exit(self, provider) -> None:
        with self._mutex:
            held = self._held.get(provider.name)
            if held is None:
                return
            held.count -= 1
            if held.count > 0:
                return
            del self._held[provider.name]
        self._remove(provider, held.marker)

    def _name(self) -> str:
        return f"{self.prefix}{self.holder}.{secrets.token_hex(4)}.jsonl"

    def _write(self, provider) -> Marker:
        body = json.dumps({"ftops_lease": self.prefix.rstrip("."), "holder": self.holder,
                           "host": socket.gethostname(), "pid": os.getpid()}).encode() + b"\n"
        return provider.put_marker(self._name(), body)

    def _acquire(self, provider) -> Marker:
        started = self.clock()
        attempt = 0
        while True:
            mine = self._write(provider)
            others = self._live_others(provider, mine)
            if not others:
                if isinstance(provider, CachesListings):
                    provider.forget_cached()  # what the previous holder uploaded is not in any cached listing
                log.info("lease on %s acquired (%s)", provider.name, mine.name)
                return mine
            self._remove(provider, mine)
            waited = self.clock() - started
            if waited >= self.wait:
                other = min(others, key=lambda m: (m.created_at, m.name))
                raise LockHeldError(
                    f"another apply of this project is starting jobs on {provider.name}: "
                    f"{_describe(other, self.prefix)}",
                    hint="it releases the provider as soon as its jobs are started; pass --lock-timeout SECONDS "
                         "to wait longer (its jobs are then adopted, not started again)")
            attempt += 1
            self.sleep(min(self.wait - waited, self.rng.uniform(0.5, 1.5) * min(8.0, 2 ** min(attempt, 3))))

    def _live_others(self, provider, mine: Marker) -> list[Marker]:
        others = []
        for marker in provider.list_markers(self.prefix):
            if marker.id == mine.id:
                continue
            if self._stale(marker, mine):
                log.info("removing stale lease marker %s", marker.name)
                self._remove(provider, marker)
                continue
            others.append(marker)
        return others

    def _stale(self, marker: Marker, mine: Marker) -> bool:
        if mine.created_at - marker.created_at > TTL:
            return True
        holder = marker.name[len(self.prefix):].rsplit(".", 2)[0]  # "<host>.<pid>"
        host, _, pid = holder.rpartition(".")
        if host == _host() and pid.isdigit() and int(pid) != os.getpid():
            return not _alive(int(pid))
        return False

    def _renew(self, provider, held: _Held) -> None:
        fresh = self._write(provider)
        old, held.marker, held.since = held.marker, fresh, self.clock()
        self._remove(provider, old)

    def _remove(self, provider, marker: Marker) -> None:
        try:
            provider.delete_marker(marker.id)
        except Exception as exc:  # noqa: BLE001 - a marker left behind goes stale on its own
            log.info("could not remove lease marker %s: %s", marker.name, exc)

    def release_all(self, providers: Callable[[str], object]) -> None:
        with self._mutex:
            held, self._held = dict(self._held), {}
        for name, item in held.items():
            self._remove(providers(name), item.marker)


class _Hold:
    def __init__(self, leases: Leases, provider):
        self.leases, self.provider = leases, provider

    def __enter__(self) -> None:
        if self.leases.needed(self.provider):
            self.leases._enter(self.provider)

    def __exit__(self, *exc) -> None:
        if self.leases.needed(self.provider):
            self.leases._exit(self.provider)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _describe(marker: Marker, prefix: str) -> str:
    holder = marker.name[len(prefix):].rsplit(".", 2)[0]
    host, _, pid = holder.rpartition(".")
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(marker.created_at)) if marker.created_at else "?"
    return f"pid {pid} on {host} (lease {marker.id}, since {when})"
