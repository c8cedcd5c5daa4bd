"""ARM deployments of Azure OpenAI fine-tunes (``Microsoft.CognitiveServices/accounts/deployments``).

Each trained model gets its own deployment, named ``<deploy.name>-<8 hex of the model id>``: deploying is a PUT of
that name (idempotent: asking again is how a deploy is followed, and a PUT of what is already there is not sent;
a deployment that failed is created again by the next apply, not by the one that saw it fail),
so a new model is provisioned beside the one the lockfile pins, which keeps serving until the pin has moved, and
until ``--prune`` removes it. The token is an Entra access token for the management endpoint: the one trust let
through (AZURE_ACCESS_TOKEN), else one from azure-identity when it is installed, asked for only when a deployment
is touched.

Provisioning states (ARM's ``properties.provisioningState``): Accepted, Creating, Updating and Moving are
``deploying``; Succeeded is ``deployed``; Failed, Canceled and Disabled are ``failed``; Deleting is ``unknown``
(asked again, it is created anew once it is gone). Errors are ARM's ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any
from urllib.parse import quote

from ftops.errors import NotFoundError, ProviderError
from ftops.providers import base
from ftops.providers.answers import MalformedAnswer, ident, mapping, num, obj, text
from ftops.providers.base import Deployment
from ftops.providers.http import HttpClient, RetryPolicy

log = logging.getLogger("ftops.provider")

STATES = {"accepted": base.DEPLOYING, "creating": base.DEPLOYING, "updating": base.DEPLOYING,
          "moving": base.DEPLOYING, "succeeded": base.DEPLOYED, "failed": base.FAILED, "canceled": base.FAILED,
          "disabled": base.FAILED, "deleting": base.UNKNOWN}
SCOPE = "/.default"


def deployment_name(name: str, model: str) -> str:
    """The deployment a trained model gets: the spec's name and 8 hex of the model id (at most 64 characters)."""
    return f"{name}-{hashlib.sha256(model.encode()).hexdigest()[:8]}"


def parse(data: Any, provider: str) -> tuple[Deployment, str | None, dict[str, Any]]:
    """A deployment as ftops sees it, the model it serves and its sku."""
    data = obj(data, "a deployment", provider)
    name = ident(data, "a deployment", provider, key="name")
    props = mapping(data.get("properties"))
    raw = text(props.get("provisioningState")) or "Unknown"
    message = None
    if STATES.get(raw.lower()) == base.FAILED:
        message = text(mapping(props.get("error")).get("message")) or \
            f"Azure reports the deployment's provisioning as {raw}"
    deployment = Deployment(id=text(data.get("id")) or name, model=name, state=STATES.get(raw.lower(), base.UNKNOWN),
                            raw_status=raw, message=message)
    return deployment, text(mapping(props.get("model")).get("name")), mapping(data.get("sku"))


class Deployments:
    def __init__(self, provider: str, pconf, *, token: str | None, transport=None, policy: RetryPolicy | None = None):
        from ftops.providers.azure_openai import API_VERSION, KIND

        self.provider = provider
        self.url = KIND.management_url(pconf)
        self.options = pconf.options
        self.root = (f"subscriptions/{quote(str(pconf.options['subscription']), safe='')}/resourceGroups/"
                     f"{quote(str(pconf.options['resource_group']), safe='')}/providers/"
                     f"Microsoft.CognitiveServices/accounts/{quote(str(pconf.options['account']), safe='')}/"
                     "deployments")
        self.params = {"api-version": str(pconf.options.get("management_api_version") or API_VERSION)}
        self._token = token
        self._pconf, self._transport, self._policy = pconf, transport, policy
        self._http: HttpClient | None = None
        self._sent: set[str] = set()  # deployments this client created or updated (a failure of theirs is final)

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    @property
    def http(self) -> HttpClient:
        if self._http is None:
            token = self._token or self._identity_token()
            self._http = HttpClient.for_provider(self.provider, self.url, {"authorization": f"Bearer {token}"},
                                                 secrets=(token,), pconf=self._pconf, transport=self._transport,
                                                 policy=self._policy)
        return self._http

    def _identity_token(self) -> str:
        """An Entra token from azure-identity (az login, a managed identity, workload identity federation...)."""
        try:
            from azure.identity import DefaultAzureCredential  # type: ignore[import-not-found]
        except ImportError:
            raise ProviderError(
                "deploying on Azure needs an Entra access token for the management endpoint, not the api-key: set "
                "AZURE_ACCESS_TOKEN (e.g. `az account get-access-token --resource https://management.azure.com "
                "--query accessToken -o tsv`) or install azure-identity", provider=self.provider) from None
        try:
            return str(DefaultAzureCredential().get_token(self.url + SCOPE).token)
        except Exception as exc:  # noqa: BLE001 - azure-identity raises its own tree; say what it said
            raise ProviderError(f"azure-identity could not get a token for {self.url}: {exc}",
                                provider=self.provider) from None

    def _path(self, name: str) -> str:
        return f"{self.root}/{quote(name, safe='')}"

    def get(self, name: str) -> Any | None:
        try:
            return self.http.json("GET", self._path(name), params=self.params)
        except NotFoundError:
            return None

    def deploy(self, model: str, target: dict[str, Any]) -> Deployment:
        """Create (or update) the deployment of ``model`` that ``target`` describes; its state as Azure says."""
        from ftops.providers.azure_openai import SKUS

        name = deployment_name(str(target["name"]), model)
        sku_name, capacity = SKUS[str(target.get("sku") or "standard")], int(target.get("capacity") or 1)
        current = self.get(name)
        if current is not None:
            found, serves, has_sku = parse(current, self.provider)
            if serves and serves != model:
                raise ProviderError(f"deployment {name} serves {serves}, not {model}; ftops does not take over a "
                                    "deployment it did not make (rename the spec's deploy.name)",
                                    provider=self.provider)
            same_sku = str(has_sku.get("name", "")).lower() == sku_name.lower() and \
                num(has_sku.get("capacity")) == capacity
            if found.state in (base.DEPLOYING, base.UNKNOWN) or (found.state == base.DEPLOYED and same_sku) or \
                    (found.state == base.FAILED and name in self._sent):
                return found  # provisioning (or going away): follow it; already what the spec says; or it failed
                # in this apply (said as it is; the next apply tries again)
        body = {"sku": {"name": sku_name, "capacity": capacity}, "properties": {"model": {"format": "OpenAI", "name": model, "version": "1"}}}
        answer = self.http.json("PUT", self._path(name), params=self.params, json=body)  # a PUT is idempotent
        self._sent.add(name)
        deployment, _, _ = parse(answer, self.provider)
        if deployment.state == base.DEPLOYING:  # ARM answers 201 while it provisions: look once more right away
            again = self.get(name)
            if again is not None:
                deployment = parse(again, self.provider)[0]
        return deployment

    def undeploy(self, record: dict[str, Any]) -> None:
        name = record.get("model")
        if not isinstance(name, str) or not name:
            raise MalformedAnswer("a deployment record without its name", provider=self.provider)
        try:
            self.http.request("DELETE", self._path(name), params=self.params)
        except NotFoundError:
            log.info("deployment %s was already removed", name)
