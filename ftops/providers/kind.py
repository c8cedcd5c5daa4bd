"""What a provider type is before any I/O: its ftops.yaml options, capabilities, facts and lifecycle, and how to
open a client for it. One subclass per provider type, registered in ``ftops.providers.registry``.

The core reads only this interface; it never compares a provider type's name or a provider's raw strings.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ftops.catalog import Catalog, ModelInfo, load_catalog
from ftops.providers.base import Capabilities, TrainingRequest

if TYPE_CHECKING:
    from ftops.config import ProjectConfig, ProviderConfig
    from ftops.providers.base import Provider

# Options every HTTP provider type takes, as JSON Schema properties.
HTTP_OPTIONS: dict[str, dict[str, Any]] = {
    "timeout": {"type": "number", "exclusiveMinimum": 0, "default": 600,
                "description": "Seconds before a request times out."},
    "max_retries": {"type": "integer", "minimum": 0, "maximum": 20, "default": 6,
                    "description": "Retries of a failed request (429, 5xx, connection errors)."},
}
BASE_URL = {"type": "string", "pattern": "^https?://",
            "description": "The API's base URL. A key is sent there only when trusted configuration binds it "
                           "(see the README's pull-request section)."}
API_KEY_ENV = {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
               "description": "The environment variable holding the API key."}


@dataclass(frozen=True)
class Credential:
    """One secret a provider sends, and where: the environment variable holding it and the endpoint it goes to.
    Trust checks every one (``ftops.trust``): a provider with one credential whose endpoint no trusted source binds
    to its variable is not contacted at all. ``name`` is how ``open()`` receives the value: ``"key"`` as ``key``,
    any other name in ``credentials``. An ``optional`` credential may be unset (the client then does without it,
    or obtains it another way, such as a token from an SDK), but its endpoint must be bound all the same."""

    name: str
    variable: str
    endpoint: str
    optional: bool = False


class ProviderKind(ABC):
    type: str = ""
    description: str = ""
    capabilities: Capabilities = Capabilities()
    options: dict[str, dict[str, Any]] = {}  # JSON Schema properties of the ftops.yaml block, besides `type`
    required: tuple[str, ...] = ()
    catalog_package: str | None = None  # the package holding this type's models.yaml
    key_env: str | None = None  # the API key's default environment variable
    default_base_url: str | None = None  # the provider's own endpoint (keys go there without further trust)
    # More (variable, URL) pairs that are the provider's own service, for credentials besides the API key
    own_bindings: tuple[tuple[str, str], ...] = ()
    managed_fields: frozenset[str] = frozenset()  # request fields ftops sets; provider_options may not override
    # JSON Schema properties of a spec's ``deploy`` block on this type (where capabilities.verbs has "deploy")
    deploy_options: dict[str, dict[str, Any]] = {}
    deploy_required: tuple[str, ...] = ()

    def effective(self, pconf: ProviderConfig) -> ProviderKind:
        """The kind whose capabilities, facts and translation apply to ``pconf`` (itself; the built-in emulator
        answers with the kind of the API it speaks)."""
        return self

    # -- facts --------------------------------------------------------------------------------------------
    def catalog(self) -> Catalog:
        if self.catalog_package is None:
            return Catalog(models={}, aliases={})
        return load_catalog(self.catalog_package)

    def base_of(self, model: str) -> str:
        """The base model a fine-tuned model was trained from, where its name says so; else ``model``."""
        return model

    def lookup(self, model: str) -> ModelInfo:
        return self.catalog().lookup(model, self.base_of)

    # -- lifecycle ----------------------------------------------------------------------------------------
    def binds_lifecycle(self, pconf: ProviderConfig) -> bool:
        """Whether this table's shutdown dates describe the endpoint ``pconf`` points at (they describe the
        provider's own service, not a gateway that speaks its API)."""
        return True

    def training_cutoff(self, pconf: ProviderConfig) -> dt.date | None:
        """The last day this endpoint accepts new fine-tuning jobs, where one is announced."""
        return self.effective(pconf).catalog().training_cutoff if self.binds_lifecycle(pconf) else None

    def known_shutdown(self, model: str | None, pconf: ProviderConfig) -> str | None:
        """The shutdown date the built-in table knows for ``model`` (or its base), where it binds this endpoint."""
        if not model or not self.binds_lifecycle(pconf):
            return None
        date = self.effective(pconf).lookup(model).shutdown_date
        return date.isoformat() if date else None

    def run_estimate(self, pconf: ProviderConfig, options: dict[str, Any],
                     trained_tokens: int) -> tuple[float | None, str | None]:
        """For a provider without a price table (a self-hosted cluster): the cost of one run in USD, where its
        ftops.yaml block gives a rate, and a note the plan shows instead of (or beside) dollars, such as the GPUs
        the run requests. ``options`` is the spec's provider_options for this type. (None, None): nothing to
        say, and the plan warns that the price is unknown."""
        return None, None

    # -- credentials --------------------------------------------------------------------------------------
    def endpoint(self, pconf: ProviderConfig) -> str | None:
        """The URL this provider's requests (and its key) go to."""
        return pconf.options.get("base_url") or self.default_base_url

    def key_variable(self, pconf: ProviderConfig) -> str | None:
        return pconf.options.get("api_key_env") or self.key_env

    def credentials(self, pconf: ProviderConfig) -> list[Credential]:
        """Every secret this provider sends and where (the API key, by default, to ``endpoint``)."""
        variable, endpoint = self.key_variable(pconf), self.endpoint(pconf)
        return [Credential("key", variable, endpoint)] if variable and endpoint else []

    def builtin_bindings(self) -> list[tuple[str, str]]:
        """(variable, URL) pairs trusted without configuration: the provider's own service."""
        own = [(self.key_env, self.default_base_url)] if self.key_env and self.default_base_url else []
        return own + list(self.own_bindings)

    def side_endpoints(self, pconf: ProviderConfig) -> dict[str, tuple[str | None, str]]:
        """Endpoints besides ``endpoint`` this provider's client may send a key to, by purpose: (key variable or
        None, URL). Each needs its own trusted binding; one that has none is refused only when it is used (a Ray
        cluster's ``serve`` URL for evals must not stop training)."""
        return {}

    def config_problems(self, pconf: ProviderConfig) -> list[str]:
        """Problems with this provider's ftops.yaml block that the schema cannot express."""
        return []

    def deploy_schema(self) -> dict[str, Any]:
        """The JSON Schema a spec's ``deploy`` block must match on this type."""
        return {"type": "object", "properties": self.deploy_options, "required": list(self.deploy_required),
                "additionalProperties": False}

    def spec_problems(self, data: dict[str, Any]) -> list[tuple[list, str]]:
        """Problems of a spec document (as written, read defensively) on this provider type that its
        capabilities cannot express (settings that depend on each other): ``(key path, message)`` pairs."""
        return []

    # -- the deploy step (where capabilities.verbs has "deploy") --------------------------------------------
    def deploy_problems(self, pconf: ProviderConfig) -> list[str]:
        """What this provider's ftops.yaml block lacks for a spec's deploy step (said where a spec has one)."""
        return []

    def hosting_usd_per_hour(self, pconf: ProviderConfig, target: dict[str, Any], base_model: str | None) -> float | None:
        """What a deployment as ``target`` (a spec's deploy block) costs per hour while it exists, whether it is
        called or not, for a fine-tune of ``base_model``; None when it is not billed by the hour (or unknown)."""
        return None

    def deploy_retires(self, pconf: ProviderConfig, base_model: str | None) -> dt.date | None:
        """The day this provider stops serving deployed fine-tunes of ``base_model``, where it announces one."""
        return None

    # -- translation and I/O ------------------------------------------------------------------------------
    @abstractmethod
    def wire_request(self, request: TrainingRequest) -> dict[str, Any]:
        """The request body this provider would be sent for ``request`` (pure; used for display too)."""

    def model_location(self, pconf: ProviderConfig) -> dict[str, Any]:
        """Where a model trained here lives, as recorded in the lockfile (no secrets)."""
        url = self.endpoint(pconf)
        return {"type": self.type, **({"endpoint": url} if url else {})}

    @abstractmethod
    def open(self, pconf: ProviderConfig, project: ProjectConfig, *, key: str | None, **kwargs: Any) -> Provider:
        """A client for this provider; ``key`` is the credential trusted configuration lets it send (or None)."""
