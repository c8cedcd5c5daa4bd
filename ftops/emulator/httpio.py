"""Request bodies on the wire: size limits, chunked transfer, JSON and multipart/form-data parsing.

Small bodies (JSON) are read into memory. A route that takes uploads has its body received to disk while it
arrives (:func:`receive`): a multipart body is split by werkzeug's sans-IO decoder as it streams in, its file parts
written to :class:`~ftops.emulator.spool.Spool` files, its text fields kept; any other body goes whole to one spool.
Everything here turns a malformed body into an ``ApiError`` (400, 413 or 415), never an exception a client
could see as a traceback.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import HTTP
from pathlib import Path
from typing import Iterator

from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from ftops.emulator.apierror import ApiError, bad_request
from ftops.emulator.spool import BLOCK, Content, Spool

MB = 1024 * 1024
JSON_LIMIT = 4 * MB
DRAIN_LIMIT = 16 * MB
FIELD_LIMIT = MB  # a text field of a form (purpose, file_name, ...); content comes as a file part


@dataclass
class Part:
    name: str
    data: bytes = b""  # a text field's bytes, or a file part's when it was parsed in memory
    filename: str | None = None
    spool: Spool | None = None  # a file part received to disk

    @property
    def content(self) -> Content:
        return self.spool if self.spool is not None else self.data

    @property
    def size(self) -> int:
        return self.spool.size if self.spool is not None else len(self.data)


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]  # path parameters from the route
    query: dict[str, list[str]]
    headers: Message
    body: bytes = b""
    form: dict[str, Part] | None = None  # a multipart body received to disk (see ``receive``)
    upload: Spool | None = None  # any other body received to disk
    spools: list[Spool] = field(default_factory=list)  # every file received for this request

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def multipart(self) -> dict[str, Part]:
        """The parts of a multipart/form-data body (415 for any other body)."""
        if self.form is not None:
            return self.form
        return parse_multipart(self.headers, b"" if self.upload is not None else self.body)

    @property
    def payload(self) -> Content:
        """The raw body: on disk when the route receives uploads, in memory otherwise."""
        return self.upload if self.upload is not None else self.body

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
    """Read a request body (Content-Length or chunked) into memory; 413 when it is over ``limit`` bytes."""
    return b"".join(body_blocks(rfile, headers, limit))


def body_blocks(rfile, headers: Message, limit: int) -> Iterator[bytes]:
    """The request body in blocks of at most a MiB (Content-Length or chunked); 413 once it is over ``limit``. A
    declared length over the limit is refused before reading it (after draining up to DRAIN_LIMIT bytes of it, so
    the client sees the answer rather than a reset connection)."""
    if "chunked" in (headers.get("transfer-encoding") or "").lower():
        yield from _chunked_blocks(rfile, limit)
        return
    try:
        length = int(headers.get("content-length") or 0)
    except ValueError:
        raise bad_request("Invalid Content-Length header.") from None
    if length < 0:
        raise bad_request("Invalid Content-Length header.")
    if length > limit:
        left = length
        if length <= limit + DRAIN_LIMIT:
            while left > 0 and (chunk := rfile.read(min(left, BLOCK))):
                left -= len(chunk)
        raise ApiError(413, f"Request body too large: {length} bytes; the limit for this endpoint is "
                            f"{limit} bytes.", code="request_too_large")
    yield from _exactly(rfile, length, "The request body ended before its Content-Length.")


def _exactly(rfile, size: int, short: str) -> Iterator[bytes]:
    """``size`` bytes in blocks; a 400 saying ``short`` when the body ends first."""
    while size > 0:
        block = rfile.read(min(size, BLOCK))
        if not block:
            raise bad_request(short)
        size -= len(block)
        yield block


def _chunked_blocks(rfile, limit: int) -> Iterator[bytes]:
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
            return
        total += size
        if total > limit:
            raise ApiError(413, f"Request body too large; the limit for this endpoint is {limit} bytes.",
                           code="request_too_large")
        yield from _exactly(rfile, size, "Malformed chunked request body: it ends inside a chunk.")
        rfile.readline(1024)


def receive(rfile, headers: Message, limit: int, directory: Path, spools: list[Spool]
            ) -> tuple[dict[str, Part] | None, Spool | None]:
    """Receive a body to disk as it arrives: ``(parts, None)`` for multipart/form-data, ``(None, spool)`` for any
    other body. Every file made is appended to ``spools`` (the caller deletes those no handler adopted)."""
    blocks = body_blocks(rfile, headers, limit)
    try:
        boundary = _boundary(headers)
        if boundary is None:
            spool = Spool(directory)
            spools.append(spool)
            for block in blocks:
                spool.write(block)
            return None, spool.finish()
        return _receive_multipart(blocks, boundary, directory, spools), None
    except ApiError:
        for _ in blocks:  # read the rest of a refused body: the connection stays usable
            pass
        raise


def _boundary(headers: Message) -> str | None:
    ctype = headers.get("content-type") or ""
    found = headers.get_param("boundary") if ctype.lower().startswith("multipart/form-data") else None
    return str(found) if found else None


def _receive_multipart(blocks: Iterator[bytes], boundary: str, directory: Path, spools: list[Spool]
                       ) -> dict[str, Part]:
    decoder = MultipartDecoder(boundary.encode("latin-1"))
    parts: dict[str, Part] = {}
    current: Part | None = None
    field_bytes = bytearray()
    complete = False
    for block in itertools.chain(blocks, [None]):
        decoder.receive_data(block)
        while True:
            try:
                event = decoder.next_event()
            except ValueError:
                raise bad_request("Malformed multipart body: " + (
                    "the closing boundary is missing." if block is None else "a part is unreadable.")) from None
            if isinstance(event, NeedData):
                break
            if isinstance(event, (Field, File)):
                current, field_bytes = Part(name=event.name or ""), bytearray()
                if isinstance(event, File):
                    current.filename, current.spool = event.filename, Spool(directory)
                    spools.append(current.spool)
            elif isinstance(event, Data) and current is not None:
                if current.spool is not None:
                    current.spool.write(event.data)
                else:
                    field_bytes += event.data
                    if len(field_bytes) > FIELD_LIMIT:
                        raise bad_request(f"The form field {current.name!r} is over {FIELD_LIMIT} bytes; send "
                                          "content as a file part (with a filename).", param=current.name)
                if not event.more_data:
                    if current.spool is not None:
                        current.spool.finish()
                    else:
                        current.data = bytes(field_bytes)
                    if current.name:
                        parts[current.name] = current
                    current = None
            elif isinstance(event, Epilogue):
                complete = True
                break
    if not complete:
        raise bad_request("Malformed multipart body: the closing boundary is missing.")
    return parts


def parse_multipart(headers: Message, body: bytes) -> dict[str, Part]:
    """Split a multipart/form-data body into its named parts (bytes kept exactly)."""
    boundary = _boundary(headers)
    if not boundary:
        raise ApiError(415, "This endpoint expects a multipart/form-data body with a boundary.")
    pieces = (b"\r\n" + body).split(b"\r\n--" + boundary.encode("latin-1"))
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
