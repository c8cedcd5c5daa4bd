"""Request bodies on the wire: size limits, chunked transfer, JSON and multipart/form-data parsing.

Everything here turns a malformed body into an ``ApiError`` (400, 413 or 415), never an exception a client
could see as a traceback.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import HTTP

from ftops.emulator.apierror import ApiError, bad_request

MB = 1024 * 1024
JSON_LIMIT = 4 * MB
DRAIN_LIMIT = 16 * MB


@dataclass
class Part:
    name: str
    data: bytes
    filename: str | None = None


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]  # path parameters from the route
    query: dict[str, list[str]]
    headers: Message
    body: bytes = b""
    form: dict[str, Part] = field(default_factory=dict)

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def json(self, *, required: bool = True, lenient: bool = False) -> dict:
        """The JSON object body. ``lenient`` (the admin API) reads it whatever the Content-Type says."""
        if not self.body.strip():
            if required:
                raise bad_request("We could not parse the JSON body of your request: the body is empty.")
            return {}
        ctype = (self.headers.get("content-type") or "").split(";")[0].strip().lower()
        if ctype != "application/json" and not lenient:
            raise ApiError(415, f"Unsupported content type {ctype or 'none'!r}: send application/json.")
        try:
            value = json.loads(self.body, parse_constant=_no_constant, parse_float=_finite_float)
        except (ValueError, UnicodeDecodeError) as exc:
            raise bad_request(f"We could not parse the JSON body of your request ({exc}). The OpenAI API "
                              "expects a JSON payload.") from None
        if not isinstance(value, dict):
            raise bad_request("The JSON body of your request must be an object.")
        return value


@dataclass
class Reply:
    """A handler's answer with a status and headers of its own (a redirect, a conflict with its own body); a plain
    dict (JSON) or bytes is a 200."""

    status: int
    body: dict | list | bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range for a number")
    return value


def read_body(rfile, headers: Message, limit: int) -> bytes:
    """Read a request body (Content-Length or chunked); 413 when it is over ``limit`` bytes."""
    if "chunked" in (headers.get("transfer-encoding") or "").lower():
        return _read_chunked(rfile, limit)
    try:
        length = int(headers.get("content-length") or 0)
    except ValueError:
        raise bad_request("Invalid Content-Length header.") from None
    if length < 0:
        raise bad_request("Invalid Content-Length header.")
    if length > limit:
        if length <= limit + DRAIN_LIMIT:  # read it so the client sees the answer, not a reset connection
            while length > 0 and (chunk := rfile.read(min(length, MB))):
                length -= len(chunk)
        raise ApiError(413, f"Request body too large: {length} bytes; the limit for this endpoint is "
                            f"{limit} bytes.", code="request_too_large")
    return rfile.read(length) if length else b""


def _read_chunked(rfile, limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        line = rfile.readline(1024).split(b";")[0].strip()
        try:
            size = int(line, 16)
        except ValueError:
            raise bad_request("Malformed chunked request body.") from None
        if size == 0:
            while rfile.readline(1024).strip():
                pass
            return b"".join(chunks)
        total += size
        if total > limit:
            raise ApiError(413, f"Request body too large; the limit for this endpoint is {limit} bytes.",
                           code="request_too_large")
        chunks.append(rfile.read(size))
        rfile.readline(1024)


def parse_multipart(headers: Message, body: bytes) -> dict[str, Part]:
    """Split a multipart/form-data body into its named parts (bytes kept exactly)."""
    ctype = headers.get("content-type") or ""
    boundary = headers.get_param("boundary") if ctype.lower().startswith("multipart/form-data") else None
    if not boundary:
        raise ApiError(415, "This endpoint expects a multipart/form-data body with a boundary.")
    pieces = (b"\r\n" + body).split(b"\r\n--" + str(boundary).encode("latin-1"))
    if len(pieces) < 2 or not pieces[-1].startswith(b"--"):
        raise bad_request("Malformed multipart body: the closing boundary is missing.")
    parts: dict[str, Part] = {}
    for piece in pieces[1:-1]:
        head, sep, data = piece.partition(b"\r\n\r\n")
        if not sep:
            raise bad_request("Malformed multipart body: a part has no header block.")
        meta = BytesHeaderParser(policy=HTTP).parsebytes(head.lstrip(b" \t").removeprefix(b"\r\n") + b"\r\n\r\n")
        name = meta.get_param("name", header="content-disposition")
        if name:
            parts[str(name)] = Part(name=str(name), data=data, filename=meta.get_filename())
    return parts
