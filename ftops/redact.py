"""Secrets never reach output: every credential ftops loads is registered here, and every message that leaves
through the CLI's error boundary or a provider error is passed through ``redact``.

A secret can surface in many spellings: as is, split across lines, escaped by ``repr`` or JSON, percent-encoded in
a URL, or base64-encoded in a Basic auth header. Each registered secret is redacted in all of them.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from urllib.parse import quote

MASK = "***"
MIN_PIECE = 6  # pieces of a secret split by whitespace shorter than this are not masked (too common)

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern | None = None


def variants(secret: str) -> set[str]:
    """The spellings of ``secret`` that might appear in a message."""
    out = {secret, repr(secret)[1:-1], json.dumps(secret)[1:-1], quote(secret, safe=""),
           secret.encode("unicode_escape").decode("ascii")}
    for prefix in ("", "Bearer ", "bearer "):
        out.add(base64.b64encode((prefix + secret).encode("utf-8", "surrogateescape")).decode("ascii"))
    out.update(piece for piece in re.split(r"\s+", secret) if len(piece) >= MIN_PIECE)
    return {v for v in out if len(v) >= MIN_PIECE or v == secret}


def register(secret: str | None) -> None:
    global _pattern
    if not secret:
        return
    with _lock:
        if secret in _secrets:
            return
        _secrets.add(secret)
        spellings = sorted({v for s in _secrets for v in variants(s) if v}, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(v) for v in spellings))


def redact(text: str) -> str:
    pattern = _pattern
    return pattern.sub(MASK, text) if pattern is not None and text else text
