"""Providers: each type is one module or package under ``ftops/providers/`` (its options, capabilities, facts,
translation and client), registered in ``registry.py``. httpx is used only inside this package.

``open_provider`` builds a client for one ftops.yaml entry, with the key trusted configuration lets it send.
"""

from __future__ import annotations

from typing import Any

from ftops.config import ProjectConfig, ProviderConfig
from ftops.errors import ConfigError
from ftops.providers.base import Provider
from ftops.providers import registry
from ftops.trust import Trust, Verdict

__all__ = ["Provider", "UntrustedProvider", "open_provider", "registry"]


class UntrustedProvider(ConfigError):
    """The provider's endpoint and key are not bound by trusted configuration (or the key is missing)."""


def open_provider(pconf: ProviderConfig, project: ProjectConfig, *, trust: Trust | None = None,
                  **kwargs: Any) -> Provider:
    provider_kind = registry.kind(pconf.type)
    trust = trust or Trust.from_environment()
    verdict = trust.verdict(pconf, provider_kind)
    if verdict.refused:
        raise UntrustedProvider(verdict.refused, hint=verdict.hint)
    if verdict.credentials:  # secrets besides the API key (a kind that declares them takes ``credentials``)
        kwargs = {**kwargs, "credentials": verdict.credentials}
    sides = provider_kind.side_endpoints(pconf)
    if sides:  # each judged on its own; the client refuses to use one that is not trusted
        kwargs["side"] = {purpose: _side(trust, f"provider {pconf.name!r} ({purpose})", variable, url)
                          for purpose, (variable, url) in sides.items()}
    return provider_kind.open(pconf, project, key=verdict.key, **kwargs)


def _side(trust: Trust, label: str, variable: str | None, url: str) -> Verdict:
    try:
        return trust.check(label, variable, url)
    except ConfigError as exc:  # bound, but the key is missing or malformed: said when the endpoint is used
        return Verdict(None, refused=exc.message, hint=exc.hint)
