"""``azure-openai``: the Azure OpenAI v1 API (``https://RESOURCE.openai.azure.com/openai/v1``), the same paths and
objects as OpenAI's, the key in an ``api-key`` header. Azure retires the same base models on its own dates, so
OpenAI's shutdown table and training cut-off do not apply; the dates come from the service's models list.

A fine-tuned model answers only once it is deployed, and applications call the deployment's name. With
``subscription``, ``resource_group`` and ``account`` in ftops.yaml, a spec's ``deploy: {name, sku, capacity}``
makes apply create an ARM deployment for the trained model on the management endpoint
(``PUT {management_url}/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.CognitiveServices/accounts/
{account}/deployments/{name}-{8 hex of the model}?api-version=...``) with an Entra bearer token (AZURE_ACCESS_TOKEN,
or azure-identity when it is installed), wait until it is provisioned and pin its name. Each trained model gets its
own deployment, so a replacement serves before the pin moves and the old deployment keeps serving until
``--prune`` removes it (``ftops/providers/azure_openai/deployments.py``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from ftops.providers.base import SuffixRule, TrainingRequest
from ftops.providers.kind import API_KEY_ENV, BASE_URL, HTTP_OPTIONS, Credential, ProviderKind
from ftops.providers.openai import CAPABILITIES as OPENAI_CAPABILITIES
from ftops.providers.openai import KIND as OPENAI
from ftops.providers.openai import job_body

MANAGEMENT_URL = "https://management.azure.com"
TOKEN_ENV = "AZURE_ACCESS_TOKEN"
API_VERSION = "2024-10-21"
SKUS = {"standard": "Standard", "globalstandard": "GlobalStandard", "developer": "DeveloperTier"}
NAME_CHARS = 55  # a deployment name is at most 64 characters: the spec's name, "-" and 8 hex of the model
MANAGEMENT = ("subscription", "resource_group", "account")

CAPABILITIES = replace(OPENAI_CAPABILITIES, suffix=SuffixRule(max_length=40, charset="A-Za-z0-9_-",
                                                               normalise_spaces=True),
                       verbs=OPENAI_CAPABILITIES.verbs | {"deploy", "undeploy"}, needs_deploy=True)


@lru_cache(maxsize=1)
def hosting_table() -> dict[str, Any]:
    return yaml.safe_load(resources.files(__name__).joinpath("hosting.yaml").read_text(encoding="utf-8"))


class AzureOpenAIKind(ProviderKind):
    type = "azure-openai"
    description = "Azure OpenAI (the v1 API of an Azure OpenAI resource; ARM deployments of the trained models)"
    capabilities = CAPABILITIES
    options = {
        "base_url": BASE_URL, "api_key_env": API_KEY_ENV,
        "subscription": {"type": "string", "minLength": 1, "pattern": "^[^/\\s]+$",
                         "description": "The Azure subscription id of the resource (for deployments)."},
        "resource_group": {"type": "string", "minLength": 1, "pattern": "^[^/\\s]+$",
                           "description": "The resource group of the Azure OpenAI resource (for deployments)."},
        "account": {"type": "string", "minLength": 1, "pattern": "^[^/\\s]+$",
                    "description": "The Azure OpenAI resource's (Cognitive Services account's) name."},
        "management_url": {"type": "string", "pattern": "^https?://",
                           "description": "The Azure Resource Manager endpoint (default https://management.azure.com)."
                                          " The token is sent there only when trusted configuration binds it."},
        "token_env": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
                      "description": "The environment variable holding an Entra access token for the management "
                                     "endpoint (default AZURE_ACCESS_TOKEN; without it, azure-identity is used when "
                                     "installed)."},
        "management_api_version": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}(-preview)?$",
                                   "description": f"The ARM api-version for deployments (default {API_VERSION})."},
        "hosting_usd_per_hour": {
            "oneOf": [{"type": "number", "minimum": 0},
                      {"type": "object", "additionalProperties": {"type": "number", "minimum": 0}}],
            "description": "What a deployed fine-tune costs per hour while it exists (the plan shows it): a number, "
                           "or by deployment sku (standard, globalstandard, developer) or base model; overrides the "
                           "built-in table."},
        **HTTP_OPTIONS,
    }
    required = ("base_url",)
    catalog_package = "ftops.providers.openai"  # the same base models; their dates come from the service
    key_env = "AZURE_OPENAI_API_KEY"
    own_bindings = ((TOKEN_ENV, MANAGEMENT_URL),)  # Azure's own management endpoint and its usual token variable
    managed_fields = OPENAI.managed_fields
    deploy_options = {
        "name": {"type": "string", "pattern": f"^[A-Za-z0-9][A-Za-z0-9_.-]{{1,{NAME_CHARS - 1}}}$",
                 "description": f"azure-openai: the deployment's name; each trained model gets its own deployment "
                                f"NAME-<8 hex of the model> (2-{NAME_CHARS} characters: letters, digits, _ . -)."},
        "sku": {"enum": list(SKUS), "description": "azure-openai: the deployment type (default standard)."},
        "capacity": {"type": "integer", "minimum": 1, "maximum": 10000,
                     "description": "azure-openai: the deployment's capacity in units of its sku (default 1)."},
    }
    deploy_required = ("name",)

    def base_of(self, model: str) -> str:
        """``gpt-4.1-2025-04-14.ft-<hex>`` -> ``gpt-4.1-2025-04-14``; ``ft:`` names as OpenAI's."""
        if ".ft-" in model:
            return model.split(".ft-", 1)[0]
        return OPENAI.base_of(model)

    def binds_lifecycle(self, pconf) -> bool:
        return False

    def config_problems(self, pconf) -> list[str]:
        given = [k for k in MANAGEMENT if pconf.options.get(k)]
        if given and len(given) < len(MANAGEMENT):
            missing = ", ".join(k for k in MANAGEMENT if k not in given)
            return [f"deployments need subscription, resource_group and account together (missing: {missing})"]
        return []

    # -- credentials: the API key to the resource, the Entra token to the management endpoint -------------
    def management_url(self, pconf) -> str:
        return str(pconf.options.get("management_url") or MANAGEMENT_URL).rstrip("/")

    def credentials(self, pconf) -> list[Credential]:
        found = super().credentials(pconf)
        if all(pconf.options.get(k) for k in MANAGEMENT):
            found.append(Credential("token", pconf.options.get("token_env") or TOKEN_ENV, self.management_url(pconf),
                                    optional=True))  # unset: azure-identity, where installed, finds one
        return found

    # -- the deploy step ----------------------------------------------------------------------------------
    def deploy_problems(self, pconf) -> list[str]:
        if all(pconf.options.get(k) for k in MANAGEMENT):
            return []
        return ["deploying needs subscription, resource_group and account in the provider's ftops.yaml block "
                "(where the Azure OpenAI resource lives)"]

    def hosting_usd_per_hour(self, pconf, target, base_model) -> float | None:
        sku = str(target.get("sku") or "standard")
        override = pconf.options.get("hosting_usd_per_hour")
        if isinstance(override, (int, float)) and not isinstance(override, bool):
            rate = float(override)
        else:
            table = override if isinstance(override, dict) else {}
            base = self.base_of(base_model) if base_model else None
            found = next((table[k] for k in (base, sku) if k and k in table), None)
            rate = float(found) if found is not None else hosting_table()["hosting_usd_per_hour"].get(sku)
        # standard and global standard deployments of fine-tunes are billed per deployment, whatever their capacity
        return rate

    def deploy_retires(self, pconf, base_model) -> dt.date | None:
        if not base_model:
            return None
        base = self.lookup(self.base_of(base_model)).name
        raw = hosting_table()["deployment_retirement"].get(base)
        return dt.date.fromisoformat(str(raw)) if raw else None

    # -- translation and I/O ------------------------------------------------------------------------------
    def wire_request(self, request: TrainingRequest) -> dict[str, Any]:
        return job_body(request, self.capabilities)

    def model_location(self, pconf) -> dict[str, Any]:
        return {"type": self.type, "endpoint": pconf.options.get("base_url"),
                **({"account": pconf.options["account"]} if pconf.options.get("account") else {})}

    def open(self, pconf, project, *, key, credentials=None, **kwargs):
        from ftops.providers.azure_openai.client import AzureOpenAIClient

        return AzureOpenAIClient(pconf.name, self, pconf.options["base_url"], {"api-key": key} if key else {},
                                 secrets=(key,), pconf=pconf, token=(credentials or {}).get("token"), **kwargs)


KIND = AzureOpenAIKind()
