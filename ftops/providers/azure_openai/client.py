"""The Azure OpenAI client: OpenAI's client on the resource's v1 data plane (the api-key header), plus the deploy
step on the management endpoint (``deployments.py``)."""

from __future__ import annotations

from typing import Any

from ftops.errors import ProviderError
from ftops.providers.base import Deployment
from ftops.providers.http import RetryPolicy
from ftops.providers.openai.client import OpenAIClient


class AzureOpenAIClient(OpenAIClient):
    def __init__(self, name: str, kind, base_url: str, headers: dict[str, str], *, secrets: tuple = (), pconf=None,
                 token: str | None = None, transport=None, policy: RetryPolicy | None = None):
        super().__init__(name, kind, base_url, headers, secrets=secrets, pconf=pconf, transport=transport,
                         policy=policy)
        self._deployments = None
        if pconf is not None and not kind.deploy_problems(pconf):
            from ftops.providers.azure_openai.deployments import Deployments

            self._deployments = Deployments(name, pconf, token=token, transport=transport, policy=policy)

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._deployments is not None:
                self._deployments.close()

    def _management(self):
        if self._deployments is None:
            raise ProviderError("deploying needs subscription, resource_group and account in the provider's "
                                "ftops.yaml block", provider=self.name)
        return self._deployments

    def deploy(self, model: str, target: dict[str, Any]) -> Deployment:
        return self._management().deploy(model, target)

    def undeploy(self, deployment: dict[str, Any]) -> None:
        self._management().undeploy(deployment)
