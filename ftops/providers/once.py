"""Create at most once. A request that creates something (an upload, a job, a marker) may land on the provider and
still fail on the way back: a timeout, a dropped connection, a 5xx from a proxy. Sending it again blindly pays
twice. So after an ambiguous failure, look for what it would have created for long enough that a slow provider
has shown it (as long again as the failed attempt took, plus the provider's settle time), and send again only
when it is still not there.
"""

from __future__ import annotations

import logging
from typing import Callable, TypeVar

from ftops.providers.http import RetryPolicy, TransientError

log = logging.getLogger("ftops.provider")
T = TypeVar("T")
ATTEMPTS = 6
FIRST_LOOK = 0.25
MAX_LOOK = 4.0


def create_once(send: Callable[[], T], find: Callable[[], T | None], *, policy: RetryPolicy, what: str,
                settle: float = 5.0, attempts: int = ATTEMPTS) -> T:
    """``send()`` creates the object; ``find()`` returns it if it exists (or None). Both raise ProviderError."""
    last: TransientError | None = None
    window = 0.0
    for attempt in range(attempts):
        if attempt:
            found = look(find, window, policy)
            if found is not None:
                log.info("%s: found what an earlier attempt created; not sending it again", what)
                return found
        started = policy.clock()
        try:
            return send()
        except TransientError as exc:
            last = exc
            window = max(0.0, policy.clock() - started) + settle
            log.info("%s failed ambiguously (%s); looking for it for %.1fs before sending again", what, exc, window)
    assert last is not None
    raise last


def look(find: Callable[[], T | None], window: float, policy: RetryPolicy) -> T | None:
    """Call ``find`` until it finds something or ``window`` seconds of waiting have passed. A lookup that fails
    for a passing reason counts as "not seen yet", but "not there" needs at least one lookup that answered: when
    none did, the last failure is raised (not knowing is no reason to send again)."""
    waited, delay = 0.0, FIRST_LOOK
    answered = False
    failure: TransientError | None = None
    while True:
        try:
            found = find()
            answered = True
        except TransientError as exc:
            log.info("looking failed (%s); looking again", exc)
            found, failure = None, exc
        if found is not None:
            return found
        if waited >= window:
            if not answered and failure is not None:
                raise failure
            return None
        step = min(delay, window - waited)
        policy.sleep(step)
        waited += step
        delay = min(delay * 2, MAX_LOOK)
