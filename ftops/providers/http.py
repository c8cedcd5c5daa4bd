"""HTTP for providers: one httpx client, retries with backoff, error bodies -> ProviderError.

Retries follow the official SDK's rules, made sturdier for CI: connection errors, timeouts, 408, 409, 429 and
5xx are retried with exponential backoff and jitter, honouring ``retry-after-ms`` / ``retry-after`` (and
``x-should-retry``), bounded in count and in total time. A request that creates something is sent with
``retry=False`` and the caller decides (after an idempotency check) whether to send it again.
Written by hand rather than with a retry library: the policy is a dozen lines, it must read the provider's
headers, and the clock and sleep must be injectable for tests.
"""

from __future__ import annotations

import email.utils
import logging
import random
import re
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import httpx

from ftops import redact
from ftops.errors import NotFoundError, ProviderError

log = logging.getLogger("ftops.http")

RETRY_STATUSES = frozenset({408, 409, 429})
MAX_RETRY_AFTER = 120.0
# google.rpc.Code: APIs built on gRPC (grpc-gateway, Google's AIPs) answer errors as {"code": <int>, "message"}.
GRPC_CODES = ("OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
              "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
              "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED")

PLAIN_TEXT_CHARS = 300  # of a plain-text error body shown to the user
_TRACEBACK = "Traceback (most recent call last):"
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Failure)(?::.*)?$", re.MULTILINE)


@dataclass
class RetryPolicy:
    max_retries: int = 6
    max_total_seconds: float = 300.0
    base_delay: float = 0.5
    max_delay: float = 8.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None:
            hinted = retry_after(response.headers)
            if hinted is not None:
                return hinted
        return min(self.base_delay * 2 ** attempt, self.max_delay) * self.rng.uniform(0.75, 1.0)


def retry_after(headers: httpx.Headers) -> float | None:
    """Seconds the server asked us to wait, if it asked within reason."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            seconds = float(raw_ms) / 1000
            if 0 < seconds <= MAX_RETRY_AFTER:
                return seconds
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw:
        try:
            seconds = float(raw)
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(raw) if raw else None
            seconds = parsed.timestamp() - time.time() if parsed else -1
        if 0 < seconds <= MAX_RETRY_AFTER:
            return seconds
    return None


def shown_url(url: httpx.URL) -> str:
    """A URL as logs show it: no user info, and only the names of query parameters (a signed upload URL carries
    its credential in the query)."""
    port = f":{url.port}" if url.port is not None else ""
    query = "&".join(f"{name}=..." for name in dict.fromkeys(url.params.keys()))
    return f"{url.scheme}://{url.host}{port}{url.path}" + (f"?{query}" if query else "")


def log_request(method: str, url: httpx.URL, outcome: int | str, seconds: float) -> None:
    """One INFO line per request sent (``ftops -v``): method, URL, status (or the transport error), time taken."""
    if log.isEnabledFor(logging.INFO):
        log.info("%s", redact.redact(f"{method} {shown_url(url)} -> {outcome} ({seconds:.2f}s)"))


class TransientError(ProviderError):
    """A retryable failure that ran out of retries (or was not retried because the request creates something)."""


def _should_retry(response: httpx.Response) -> bool:
    forced = response.headers.get("x-should-retry")
    if forced == "true":
        return True
    if forced == "false":
        return False
    return response.status_code in RETRY_STATUSES or response.status_code >= 500


class HttpClient:
    def __init__(self, *, provider: str, base_url: str, headers: dict[str, str], secrets: tuple[str, ...] = (),
                 timeout: float = 600.0, policy: RetryPolicy | None = None,
                 transport: httpx.BaseTransport | None = None):
        self.provider = provider
        self.policy = policy or RetryPolicy()
        for secret in secrets:
            redact.register(secret)
        self._client = httpx.Client(base_url=base_url.rstrip("/") + "/", headers=headers,
                                    timeout=httpx.Timeout(timeout, connect=10.0), transport=transport,
                                    follow_redirects=False)

    @classmethod
    def for_provider(cls, name: str, base_url: str, headers: dict[str, str], *, secrets: tuple = (), pconf=None,
                     transport: httpx.BaseTransport | None = None, policy: RetryPolicy | None = None) -> "HttpClient":
        """A client set up from a provider's ftops.yaml options (``timeout``, ``max_retries``)."""
        options = pconf.options if pconf is not None else {}
        policy = policy or RetryPolicy()
        if "max_retries" in options:
            policy = replace(policy, max_retries=int(options["max_retries"]))
        return cls(provider=name, base_url=base_url, headers={"user-agent": "ftops", **headers},
                   secrets=tuple(s for s in secrets if s), timeout=float(options.get("timeout", 600)), policy=policy,
                   transport=transport)

    def close(self) -> None:
        self._client.close()

    def redact(self, text: str) -> str:
        return redact.redact(text)

    def request(self, method: str, path: str, *, retry: bool = True, **kwargs: Any) -> httpx.Response:
        """Send a request; return the 2xx response or raise ProviderError (NotFoundError for 404)."""
        started = self.policy.clock()
        attempt = 0
        while True:
            response = None
            sent = time.perf_counter()
            try:
                response = self._client.request(method, path.lstrip("/"), **kwargs)
            except httpx.TransportError as exc:
                log_request(method, self._client.base_url.join(path.lstrip("/")), type(exc).__name__,
                            time.perf_counter() - sent)
                failure: ProviderError = TransientError(
                    self.redact(f"{type(exc).__name__} talking to {self.provider}: {exc}"), provider=self.provider)
            else:
                log_request(method, response.request.url, response.status_code, time.perf_counter() - sent)
                if response.status_code < 400:
                    return response
                failure = self._error(response)
                log.debug("%s %s: %s", method, path, failure)
                if not _should_retry(response):
                    raise failure
            if not retry:
                raise failure  # a TransientError: the caller decides whether sending again is safe
            delay = self.policy.delay(attempt, response)
            elapsed = self.policy.clock() - started
            if attempt >= self.policy.max_retries or elapsed + delay > self.policy.max_total_seconds:
                raise failure
            attempt += 1
            log.info("retrying %s %s in %.2fs (attempt %d/%d): %s", method, path, delay, attempt,
                     self.policy.max_retries, failure)
            self.policy.sleep(delay)
            for value in kwargs.values():  # rewind streamed uploads before sending them again
                if hasattr(value, "seek"):
                    value.seek(0)

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise ProviderError(f"{method} {path} returned a body that is not JSON",
                                status=response.status_code, request_id=response.headers.get("x-request-id"),
                                provider=self.provider) from None

    def _error(self, response: httpx.Response) -> ProviderError:
        """The provider's own message, code and param, from the error shapes APIs use: OpenAI's and Together's
        ``{"error": {"message", "code", "param"}}``, ``{"error": "text"}``, a bare ``{"message": ...}`` and the gRPC
        status ``{"code": <int or name>, "message"}`` (a numeric code is reported by its name, e.g.
        ALREADY_EXISTS)."""
        message, code, param = f"HTTP {response.status_code}", None, None
        try:
            body = response.json()
            err = body.get("error") if isinstance(body, dict) else None
            if isinstance(err, dict):
                message = str(err.get("message") or message)
                code, param = err.get("code"), err.get("param")
            elif isinstance(err, str) and err:
                message = err
            elif isinstance(body, dict) and isinstance(body.get("message"), str):
                message = body["message"] or message
                code = body.get("code")
            code = _code_name(code)
        except ValueError:
            text = response.text
            text = (traceback_summary(text) or text.strip())[:PLAIN_TEXT_CHARS].strip()
            if text:
                message = f"{message}: {text}"
        if _should_retry(response):
            kind: type[ProviderError] = TransientError
        else:
            kind = NotFoundError if response.status_code == 404 else ProviderError
        return kind(self.redact(message), status=response.status_code, code=code, param=param,
                    request_id=response.headers.get("x-request-id"), provider=self.provider)


def _code_name(code: Any) -> str | None:
    """An error code as text: a gRPC status number becomes its name (6 -> ALREADY_EXISTS)."""
    if code is None or code == "" or isinstance(code, bool):
        return None
    if isinstance(code, int):
        return GRPC_CODES[code] if 0 <= code < len(GRPC_CODES) else str(code)
    return str(code)

def traceback_summary(text: str, *, whole: bool = True) -> str | None:
    """The line a Python traceback ends with ("ValueError: ..."), which says what went wrong; None when ``text``
    holds no traceback. Servers that answer errors with their traceback as plain text (the Ray job server does)
    would otherwise show only its first line, "Traceback (most recent call last):". With ``whole=False`` the text
    may be the tail of a log, cut before the traceback's first line."""
    if whole and _TRACEBACK not in text:
        return None
    found = _EXCEPTION_LINE.findall(text)
    return found[-1].strip() if found else None
