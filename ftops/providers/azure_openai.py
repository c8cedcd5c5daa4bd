"""``azure-openai``: the Azure OpenAI v1 API (``https://RESOURCE.openai.azure.com/openai/v1``), the same paths and
objects as OpenAI's, the key in an ``api-key`` header. Azure retires the same base models on its own dates, so
OpenAI's shutdown table and training cut-off do not apply; the dates come from the service's models list."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ftops.providers.base import SuffixRule, TrainingRequest
from ftops.providers.kind import API_KEY_ENV, BASE_URL, HTTP_OPTIONS, ProviderKind
from ftops.providers.openai import CAPABILITIES as OPENAI_CAPABILITIES
from ftops.providers.openai import KIND as OPENAI
from ftops.providers.openai import job_body

CAPABILITIES = replace(OPENAI_CAPABILITIES, suffix=SuffixRule(max_length=40, charset="A-Za-z0-9_-",
                                                               normalise_spaces=True))


class AzureOpenAIKind(ProviderKind):
    type = "azure-openai"
    description = "Azure OpenAI (the v1 API of an Azure OpenAI resource)"
    capabilities = CAPABILITIES
    options = {"base_url": BASE_URL, "api_key_env": API_KEY_ENV, **HTTP_OPTIONS}
    required = ("base_url",)
    catalog_package = "ftops.providers.openai"  # the same base models; their dates come from the service
    key_env = "AZURE_OPENAI_API_KEY"
    managed_fields = OPENAI.managed_fields

    def base_of(self, model: str) -> str:
        """``gpt-4.1-2025-04-14.ft-<hex>`` -> ``gpt-4.1-2025-04-14``; ``ft:`` names as OpenAI's."""
        if ".ft-" in model:
            return model.split(".ft-", 1)[0]
        return OPENAI.base_of(model)

    def binds_lifecycle(self, pconf) -> bool:
        return False

    def wire_request(self, request: TrainingRequest) -> dict[str, Any]:
        return job_body(request, self.capabilities)

    def open(self, pconf, project, *, key, **kwargs):
        from ftops.providers.openai.client import OpenAIClient

        return OpenAIClient(pconf.name, self, pconf.options["base_url"], {"api-key": key} if key else {},
                            secrets=(key,), pconf=pconf, **kwargs)


KIND = AzureOpenAIKind()
