"""What every Fireworks endpoint shares: gRPC status errors, request bodies checked against the SDK's types
(an unknown field is an INVALID_ARGUMENT naming it, as grpc-gateway answers), resource ids, RFC 3339 times,
AIP-158 pages and a small AIP-160 filter (``field="value"`` terms joined by AND)."""

from __future__ import annotations

import base64
import datetime as dt
import math
import re
from typing import Any, Callable

from ftops.emulator.apierror import ApiError
from ftops.emulator.httpio import Request
from ftops.emulator.state import Tx

# google.rpc.Code numbers, and the HTTP status grpc-gateway answers with for each.
CODES = {"CANCELLED": 1, "UNKNOWN": 2, "INVALID_ARGUMENT": 3, "DEADLINE_EXCEEDED": 4, "NOT_FOUND": 5,
         "ALREADY_EXISTS": 6, "PERMISSION_DENIED": 7, "RESOURCE_EXHAUSTED": 8, "FAILED_PRECONDITION": 9,
         "ABORTED": 10, "OUT_OF_RANGE": 11, "UNIMPLEMENTED": 12, "INTERNAL": 13, "UNAVAILABLE": 14,
         "DATA_LOSS": 15, "UNAUTHENTICATED": 16}
HTTP = {"INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400, "OUT_OF_RANGE": 400, "UNAUTHENTICATED": 401,
        "PERMISSION_DENIED": 403, "NOT_FOUND": 404, "ALREADY_EXISTS": 409, "ABORTED": 409,
        "RESOURCE_EXHAUSTED": 429, "CANCELLED": 499, "UNIMPLEMENTED": 501, "UNAVAILABLE": 503,
        "DEADLINE_EXCEEDED": 504}
BY_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
             405: "UNIMPLEMENTED", 409: "ALREADY_EXISTS", 413: "RESOURCE_EXHAUSTED", 415: "INVALID_ARGUMENT",
             429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE"}
ID = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
ID_RULE = "1-63 characters of [a-z0-9-], not starting or ending with a hyphen"


def error(name: str, message: str) -> ApiError:
    """An error as Fireworks answers it: the gRPC code's HTTP status, ``{"code": <int>, "message"}``."""
    return ApiError(HTTP.get(name, 500), message, code=name)


def render_error(err: ApiError) -> dict[str, Any]:
    name = err.code if err.code in CODES else BY_STATUS.get(err.status, "INTERNAL")
    return {"code": CODES[name], "message": err.message, "details": []}


def invalid(message: str) -> ApiError:
    return error("INVALID_ARGUMENT", message)


def not_found(what: str, name: str) -> ApiError:
    return error("NOT_FOUND", f"{what} {name!r} not found")


def check_id(value: Any, what: str) -> str:
    if not isinstance(value, str) or not ID.match(value):
        raise invalid(f"invalid {what} {value!r}: a resource id is {ID_RULE}")
    return value


def rfc3339(when: float | None) -> str | None:
    if when is None:
        return None
    return dt.datetime.fromtimestamp(when, dt.timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


# -- request bodies ------------------------------------------------------------------------------------------
# A field's type: "string", "int", "int64" (a JSON number or a string of digits), "number", "bool", "any", a tuple
# of enum values, or a dict of nested fields (an object with exactly those keys allowed).
Fields = dict[str, Any]


def check_body(body: Any, fields: Fields, where: str = "") -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid(f"Invalid value at '{where or 'body'}': expected an object")
    for name, value in body.items():
        path = f"{where}.{name}" if where else name
        if name not in fields:
            raise invalid(f'Invalid JSON payload received. Unknown name "{name}" at \'{where or "body"}\': '
                          "Cannot find field.")
        if value is not None:
            _check_value(value, fields[name], path)
    return body


def _check_value(value: Any, kind: Any, path: str) -> None:
    if isinstance(kind, dict):
        check_body(value, kind, path)
        return
    if isinstance(kind, tuple):
        if value not in kind:
            raise invalid(f"Invalid value at '{path}' ({value!r}): expected one of {', '.join(kind)}")
        return
    ok = {"string": lambda v: isinstance(v, str),
          "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
          "int64": lambda v: (isinstance(v, int) and not isinstance(v, bool))
          or (isinstance(v, str) and re.fullmatch(r"-?[0-9]+", v) is not None),
          "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v),
          "bool": lambda v: isinstance(v, bool),
          "object": lambda v: isinstance(v, dict),
          "any": lambda v: True}[kind]
    if not ok(value):
        raise invalid(f"Invalid value at '{path}' ({kind}): {value!r}")


def body(req: Request) -> dict[str, Any]:
    """The JSON body (an empty body is ``{}``, as for ``:cancel``); one that does not parse is INVALID_ARGUMENT."""
    try:
        return req.json(required=False)
    except ApiError as exc:
        if exc.status != 400:
            raise
        raise invalid(exc.message.replace(" The OpenAI API expects a JSON payload.", "")) from None


# -- lists ---------------------------------------------------------------------------------------------------
def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o{offset}".encode()).decode().rstrip("=")


def _offset(token: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        if raw.startswith("o") and raw[1:].isdigit():
            return int(raw[1:])
    except (ValueError, UnicodeDecodeError):
        pass
    raise invalid(f"invalid page token {token!r}")


def matches(req: Request, view: dict[str, Any], fields: tuple[str, ...]) -> bool:
    """Whether ``view`` passes the request's ``filter``: ``field="value"`` terms joined by AND (AIP-160's simplest
    form); a field this list cannot filter on is an INVALID_ARGUMENT."""
    text = (req.arg("filter") or "").strip()
    if not text:
        return True
    for term in re.split(r"\s+AND\s+", text):
        found = re.fullmatch(r'\s*([A-Za-z_.]+)\s*=\s*"([^"]*)"\s*', term)
        if not found:
            raise invalid(f"invalid filter {text!r}: this emulator understands field=\"value\" terms joined by AND")
        field, wanted = found.groups()
        if field not in fields:
            raise invalid(f"invalid filter {text!r}: cannot filter on {field!r} (only {', '.join(fields)})")
        if str(view.get(field)) != wanted:
            return False
    return True


def page(req: Request, key: str, views: list[dict[str, Any]], *, created: Callable[[dict], Any] | None = None,
         filterable: tuple[str, ...] = ()) -> dict[str, Any]:
    """One page of ``views`` (AIP-158): ``pageSize`` (default 50, at most 200), ``pageToken``, ``orderBy``
    (``name`` by default, or ``createTime`` [desc]) and ``filter``; int64 ``totalSize`` as a string."""
    try:
        size = int(req.arg("pageSize") or 50)
    except ValueError:
        raise invalid(f"invalid pageSize {req.arg('pageSize')!r}") from None
    if size < 0:
        raise invalid("pageSize must not be negative")
    size = min(size or 50, 200)
    order = (req.arg("orderBy") or "name").strip()
    field, _, direction = order.partition(" ")
    if field not in ("name", "createTime") or direction.strip() not in ("", "desc", "asc"):
        raise invalid(f"invalid orderBy {order!r}: use name or createTime, optionally followed by desc")
    views = [v for v in views if matches(req, v, filterable)]
    views.sort(key=lambda v: (v.get(field) or "", v.get("name") or ""), reverse=direction.strip() == "desc")
    token = req.arg("pageToken")
    start = _offset(token) if token else 0
    chunk = views[start:start + size]
    answer = {key: chunk, "totalSize": str(len(views))}
    if start + size < len(views):
        answer["nextPageToken"] = _token(start + size)
    return answer


def records(tx: Tx) -> dict[str, Any]:
    """This dialect's own records in the emulator's state (datasets, deployments, deployed models, job ids that
    were deleted and cannot be used again)."""
    mine = tx.data.setdefault("dialects", {}).get("fireworks")
    if mine is None:
        mine = tx.data["dialects"]["fireworks"] = {"datasets": {}, "deployments": {}, "deployed_models": {},
                                                   "taken": [], "signed": {}}
        tx.touch()
    return mine
