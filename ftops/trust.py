"""Which endpoint may receive which secret. Nothing a pull request can edit decides it.

ftops.yaml is part of the repository, so a pull request can change a provider's ``base_url`` and ``api_key_env``.
A key is therefore sent only to an endpoint that something outside the repository binds it to:

1. the provider's own service, built into its type (OPENAI_API_KEY -> https://api.openai.com,
   AZURE_ACCESS_TOKEN -> https://management.azure.com, ...);
2. the environment: ``OPENAI_BASE_URL`` binds OPENAI_API_KEY to that URL (as the official SDK reads it), and
   ``FTOPS_CREDENTIALS`` lists bindings, ``VAR=URL`` separated by spaces, commas or newlines;
3. a trusted config file, ``FTOPS_TRUSTED_CONFIG`` (or ``--trusted-config``): typically the base branch's
   ftops.yaml, which the pull-request workflow writes outside the checkout. Its providers' key variables and
   endpoints are trusted as they are there.

A provider type may send more than one secret, each to its own endpoint (``ProviderKind.credentials``: Azure
OpenAI's API key to the resource, its Entra token to the management endpoint); every one must be bound.
A provider whose endpoint and key variable no source binds is not contacted: the plan is made without it (as with
``--no-refresh``) and says why; apply refuses. Bindings match scheme, host and port; a binding's path, when it
has one, must prefix the endpoint's path.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ftops.errors import ConfigError

if TYPE_CHECKING:
    from ftops.config import ProviderConfig
    from ftops.providers.kind import ProviderKind

CREDENTIALS_ENV = "FTOPS_CREDENTIALS"
TRUSTED_CONFIG_ENV = "FTOPS_TRUSTED_CONFIG"


def is_loopback(host: str | None) -> bool:
    """An IP literal in 127.0.0.0/8 or ::1, or ``localhost`` (which resolves there by definition, RFC 6761).
    A name that merely starts with "127." (127.0.0.1.nip.io) is not loopback."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def plain_http_problem(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return (f"uses plain http:// to {parts.hostname}; API keys must travel over https (plain http is allowed "
                "to loopback only: 127.0.0.0/8, ::1, localhost)")
    if parts.scheme not in ("http", "https"):
        return f"must be an http(s) URL, not {url!r}"
    return None


@dataclass(frozen=True)
class Binding:
    variable: str
    url: str
    source: str

    def covers(self, endpoint: str) -> bool:
        want, have = urlsplit(self.url), urlsplit(endpoint)
        if (want.scheme, want.hostname, _port(want)) != (have.scheme, have.hostname, _port(have)):
            return False
        prefix = want.path.rstrip("/")
        return not prefix or have.path.rstrip("/") == prefix or have.path.startswith(prefix + "/")


def _port(parts) -> int | None:
    try:
        return parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return None


def _parse_credentials(raw: str) -> list[Binding]:
    bindings = []
    for entry in re.split(r"[\s,;]+", raw.strip()):
        if not entry:
            continue
        variable, sep, url = entry.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", variable) or not urlsplit(url).hostname:
            raise ConfigError(f"{CREDENTIALS_ENV}: {entry.split('=')[0]!r}... is not VAR=https://host[/path]",
                              hint=f"set {CREDENTIALS_ENV} to entries like "
                                   "AZURE_OPENAI_API_KEY=https://RESOURCE.openai.azure.com")
        bindings.append(Binding(variable, url, CREDENTIALS_ENV))
    return bindings


@dataclass(frozen=True)
class Verdict:
    """What a provider may send: ``key`` (the secret, or None when it needs none) or why it may not be opened."""

    key: str | None
    refused: str | None = None
    hint: str | None = None
    credentials: dict[str, str] = field(default_factory=dict)  # the other credentials' values, by name


class Trust:
    def __init__(self, bindings: list[Binding]):
        self.bindings = bindings

    @classmethod
    def from_environment(cls, trusted_config: Path | None = None) -> "Trust":
        from ftops.providers import registry

        bindings = []
        for type_name in registry.types():
            bindings += [Binding(variable, url, f"{type_name}'s own service")
                         for variable, url in registry.kind(type_name).builtin_bindings()]
        if os.environ.get("OPENAI_BASE_URL"):
            bindings.append(Binding("OPENAI_API_KEY", os.environ["OPENAI_BASE_URL"], "OPENAI_BASE_URL"))
        bindings += _parse_credentials(os.environ.get(CREDENTIALS_ENV, ""))
        path = trusted_config or (Path(os.environ[TRUSTED_CONFIG_ENV]) if os.environ.get(TRUSTED_CONFIG_ENV)
                                  else None)
        if path is not None:
            bindings += _from_config(path)
        return cls(bindings)

    def verdict(self, pconf: ProviderConfig, kind: ProviderKind) -> Verdict:
        credentials = kind.credentials(pconf)
        if not credentials:
            return Verdict(key=None)  # a provider that sends no secret (the built-in emulator)
        label = f"provider {pconf.name!r}"
        for cred in credentials:
            refused = self._refused(label, cred.variable, cred.endpoint, "its key is" if cred.name == "key" else
                                    f"its {cred.name} ({cred.variable}) is")
            if refused is not None:
                return refused
        values: dict[str, str] = {}
        for cred in credentials:
            value = _value(label, cred.variable, "an API key" if cred.name == "key" else f"its {cred.name}",
                           optional=cred.optional)
            if value is not None:
                values[cred.name] = value
        return Verdict(key=values.pop("key", None), credentials=values)

    def check(self, label: str, variable: str | None, endpoint: str | None) -> Verdict:
        """Whether the key in ``variable`` may be sent to ``endpoint`` (``label`` names it in messages): the rule
        for any other endpoint a provider sends a key to (a ``serve`` URL)."""
        if variable is None or endpoint is None:
            return Verdict(key=None)  # a provider that sends no secret (the built-in emulator)
        return self._refused(label, variable, endpoint, "its key is") or \
            Verdict(key=_value(label, variable, "an API key", optional=False))

    def _refused(self, label: str, variable: str, endpoint: str, what: str) -> Verdict | None:
        if any(b.variable == variable and b.covers(endpoint) for b in self.bindings):
            return None
        return Verdict(None, refused=(
            f"{label}: no trusted configuration binds {variable} to {_origin(endpoint)}, so {what} not sent there "
            "and the provider is not contacted"),
            hint=f"if that endpoint is yours, bind it outside the repository: {CREDENTIALS_ENV}="
                 f"\"{variable}={_origin(endpoint)}\" (or {TRUSTED_CONFIG_ENV}=<a reviewed ftops.yaml, e.g. the "
                 "base branch's>)")


def _value(label: str, variable: str, what: str, *, optional: bool) -> str | None:
    """The secret in ``variable``, checked (never shown); None when an optional one is not set."""
    value = os.environ.get(variable, "").strip()
    if not value:
        if optional:
            return None
        raise ConfigError(f"{label} needs {what}: set the {variable} environment variable",
                          hint="or run `ftops plan --no-refresh`, which needs no credentials")
    problem = key_problem(value)
    if problem:
        raise ConfigError(f"the value of {variable} {problem} (the value is not shown)",
                          hint="copy the key again, without surrounding quotes or line breaks")
    return value


def key_problem(value: str) -> str | None:
    """Why ``value`` cannot be an API key sent in an HTTP header, without showing it."""
    for i, char in enumerate(value):
        if char in "\r\n":
            return f"contains a line break (at character {i + 1})"
        if ord(char) < 0x20 or ord(char) == 0x7F:
            return f"contains a control character (at character {i + 1})"
        if ord(char) > 0x7E:
            return f"contains a non-ASCII character (at character {i + 1})"
        if char == " ":
            return f"contains a space (at character {i + 1})"
    return None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _from_config(path: Path) -> list[Binding]:
    """The (variable, endpoint) pairs of every credential of a trusted ftops.yaml's providers."""
    from ftops.config import parse_config_file
    from ftops.providers import registry

    try:
        config = parse_config_file(path, display=f"{TRUSTED_CONFIG_ENV} ({path})")
    except FileNotFoundError:
        raise ConfigError(f"{TRUSTED_CONFIG_ENV} names {path}, which does not exist",
                          hint="write the base branch's ftops.yaml there first, or unset it") from None
    return [Binding(cred.variable, cred.endpoint, f"{TRUSTED_CONFIG_ENV} ({path})")
            for pconf in config.values() for cred in registry.kind(pconf.type).credentials(pconf)]
