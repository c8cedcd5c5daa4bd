"""Reading providers' JSON answers defensively: unknown fields are ignored, optional fields of the wrong type read
as absent, and an answer without what ftops needs (an id) is a ``MalformedAnswer``, never a crash."""

from __future__ import annotations

from typing import Any

from ftops.errors import ProviderError


class MalformedAnswer(ProviderError):
    """The provider (or a proxy in front of it) answered 2xx with a shape ftops cannot read."""

    hint = "check the provider's base_url: something that does not speak this provider's API answered"


_JSON_TYPES = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean",
               type(None): "null"}


def obj(value: Any, what: str, provider: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedAnswer(f"unexpected answer: {what} is {_JSON_TYPES.get(type(value), 'not an object')}, "
                              "not a JSON object", provider=provider)
    return value


def ident(data: dict[str, Any], what: str, provider: str, key: str = "id") -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedAnswer(f"unexpected answer: {what} has no string {key!r}", provider=provider)
    return value


def items(page: Any, what: str, provider: str, key: str = "data", id_key: str = "id",
          bare: bool = False) -> list[dict[str, Any]]:
    """The list under ``key`` of a list answer (with ``bare``, the answer itself may be the list), every item an
    object with an id."""
    found = page if bare and isinstance(page, list) else obj(page, f"the {what} list", provider).get(key)
    if found is None:
        return []
    if not isinstance(found, list):
        raise MalformedAnswer(f"unexpected answer: {key!r} of the {what} list is not a list", provider=provider)
    for item in found:
        ident(obj(item, f"a {what}", provider), f"a {what}", provider, id_key)
    return found


def num(value: Any) -> int | None:
    """An integer, also from a JSON string holding one (int64 values travel as strings in some APIs)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
