"""Cursor pagination as OpenAI does it: ``after`` is the id of the last item of the previous page."""

from __future__ import annotations

from ftops.emulator.apierror import bad_request
from ftops.emulator.httpio import Request


def limit_arg(req: Request, default: int, maximum: int = 10000) -> int:
    raw = req.arg("limit")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"Invalid 'limit': expected an integer, got {raw!r}.", param="limit") from None
    if not 1 <= value <= maximum:
        raise bad_request(f"Invalid 'limit': {value} is not between 1 and {maximum}.", param="limit")
    return value


def page(items: list[dict], req: Request, default_limit: int, *, ids: bool = False,
         maximum: int = 10000, empty_id: str | None = None) -> dict:
    """One page of ``items`` (already in display order) after the ``after`` cursor. With ``ids``, the page's
    ``first_id``/``last_id``; on an empty page ``empty_id`` (null where the document allows it, else "")."""
    limit = limit_arg(req, default_limit, maximum)
    after = req.arg("after")
    if after:
        position = next((i for i, item in enumerate(items) if item["id"] == after), None)
        if position is None:
            raise bad_request(f"Invalid 'after': {after!r} is not the id of an item of this list.", param="after")
        items = items[position + 1:]
    data = items[:limit]
    body = {"object": "list", "data": data, "has_more": len(items) > limit}
    if ids:
        body["first_id"] = data[0]["id"] if data else empty_id
        body["last_id"] = data[-1]["id"] if data else empty_id
    return body
