"""Routing: (method, path) -> handler with its request-body limit, via werkzeug's URL map.

werkzeug is used for matching (converters, method-not-allowed with the allowed methods, rule ordering) instead of
a hand-written regex table: every dialect's paths (OpenAI's ``/v1/models/{id*}``, Fireworks' ``:verb`` suffixes,
Together's nested model names) go through one well-tested matcher.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import unquote

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, RequestRedirect, Rule

from ftops.emulator.apierror import ApiError
from ftops.emulator.httpio import JSON_LIMIT


@dataclass(frozen=True, eq=False)
class Route:
    handler: Callable[..., Any]
    limit: int = JSON_LIMIT

    @property
    def uploads(self) -> bool:
        """A route that takes bodies larger than JSON has them received to disk (``httpio.receive``)."""
        return self.limit > JSON_LIMIT


def route(method: str, pattern: str, handler: Callable[..., Any], limit: int = JSON_LIMIT) -> Rule:
    """``pattern`` in werkzeug's syntax: ``<id>`` is one path segment, ``<path:id>`` the rest of the path."""
    return Rule(pattern, endpoint=Route(handler, limit), methods=[method])


class Router:
    def __init__(self, rules: list[Rule]):
        self._adapter = Map(rules, strict_slashes=True, merge_slashes=False).bind("emulator")

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The route and its (unquoted) path parameters; an ApiError 404 or 405 when there is none."""
        try:
            endpoint, values = self._adapter.match(path, method=method)
        except MethodNotAllowed as exc:
            allowed = sorted(set(exc.valid_methods or ()) - {"HEAD", "OPTIONS"})
            raise ApiError(405, f"Method {method} is not allowed for {path}; use {', '.join(allowed)}.",
                           headers={"allow": ", ".join(allowed)}) from None
        except (NotFound, RequestRedirect):
            raise ApiError(404, f"Invalid URL ({method} {path})") from None
        return endpoint, {k: unquote(str(v)) for k, v in values.items()}
