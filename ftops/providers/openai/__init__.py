"""``openai``: api.openai.com, or any OpenAI-compatible ``base_url``.

The key comes from OPENAI_API_KEY (or ``api_key_env``); OPENAI_BASE_URL, OPENAI_ORG_ID and OPENAI_PROJECT_ID are
read from the environment like the official SDK does. The launch key travels in the job's metadata
(``ftops_project``, ``ftops_spec``, ``ftops_fingerprint``), which the jobs list can filter on.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from ftops.providers.base import Capabilities, Rule, SuffixRule, TrainingRequest
from ftops.providers.kind import API_KEY_ENV, BASE_URL, HTTP_OPTIONS, ProviderKind

DEFAULT_URL = "https://api.openai.com/v1"
META_PROJECT = "ftops_project"
META_SPEC = "ftops_spec"
META_FINGERPRINT = "ftops_fingerprint"

_COMMON = {"n_epochs": Rule("int", 1, 50), "batch_size": Rule("int", 1, 256),
           "learning_rate_multiplier": Rule("number", 0, None, low_open=True)}
HYPERPARAMETERS = {
    "supervised": _COMMON,
    "dpo": {**_COMMON, "beta": Rule("number", 0, 2, low_open=True)},
    "reinforcement": {**_COMMON, "compute_multiplier": Rule("number", 1e-5, 10, low_open=True),
                      "eval_interval": Rule("int", 1, None), "eval_samples": Rule("int", 1, None),
                      "reasoning_effort": Rule("enum", choices=("default", "low", "medium", "high"))},
}
CAPABILITIES = Capabilities(
    methods=("supervised", "dpo", "reinforcement"), hyperparameters=HYPERPARAMETERS,
    suffix=SuffixRule(max_length=64, normalise_spaces=True),
    verbs=frozenset({"cancel", "pause", "resume", "events", "checkpoints", "metrics", "delete_model",
                     "checkpoint_models", "import", "complete"}),
    idempotency="lookup", integrations=("wandb",), min_examples=10, default_epochs="auto")


def launch_metadata(request: TrainingRequest) -> dict[str, str]:
    key = request.launch
    return {META_PROJECT: key.project, META_SPEC: key.spec, META_FINGERPRINT: key.fingerprint}


def send_suffix(suffix: str | None, rule: SuffixRule) -> str | None:
    """The suffix as sent: spaces become hyphens where the rule says so (the plan shows it)."""
    if suffix is None:
        return None
    return rule.sent(suffix)


def job_body(request: TrainingRequest, capabilities: Capabilities) -> dict[str, Any]:
    """``POST /fine_tuning/jobs`` for ``request``: the neutral names it accepts are OpenAI's own."""
    section: dict[str, Any] = {"hyperparameters": dict(request.hyperparameters)}
    if request.grader is not None:
        section["grader"] = request.grader
    if request.response_format is not None:
        section["response_format"] = request.response_format
    body: dict[str, Any] = {"model": request.base_model, "training_file": request.training_file,
                            "method": {"type": request.method, request.method: section},
                            "metadata": {**request.metadata, **launch_metadata(request)}}
    if request.validation_file:
        body["validation_file"] = request.validation_file
    suffix = send_suffix(request.suffix, capabilities.suffix)
    if suffix is not None:
        body["suffix"] = suffix
    if request.seed is not None:
        body["seed"] = request.seed
    if request.integrations:
        body["integrations"] = list(request.integrations)
    body.update(request.options)
    return body


class OpenAIKind(ProviderKind):
    type = "openai"
    description = "api.openai.com or any OpenAI-compatible fine-tuning API"
    capabilities = CAPABILITIES
    options = {"base_url": BASE_URL, "api_key_env": API_KEY_ENV,
               "organization": {"type": "string", "description": "OpenAI-Organization header (not a secret)."},
               "openai_project": {"type": "string", "description": "OpenAI-Project header (not a secret)."},
               **HTTP_OPTIONS}
    catalog_package = "ftops.providers.openai"
    key_env = "OPENAI_API_KEY"
    default_base_url = DEFAULT_URL
    managed_fields = frozenset({"model", "training_file", "validation_file", "method", "hyperparameters",
                                "metadata", "suffix", "seed", "integrations"})

    def base_of(self, model: str) -> str:
        """``ft:gpt-4o-mini-2024-07-18:org:suffix:id`` -> ``gpt-4o-mini-2024-07-18``."""
        if model.startswith("ft:"):
            parts = model.split(":")
            if len(parts) >= 2 and parts[1]:
                return parts[1]
        return model

    def endpoint(self, pconf) -> str:
        return pconf.options.get("base_url") or os.environ.get("OPENAI_BASE_URL") or DEFAULT_URL

    def binds_lifecycle(self, pconf) -> bool:
        """OpenAI's shutdown table and training cut-off bind OpenAI itself, not an OpenAI-compatible gateway."""
        return urlsplit(self.endpoint(pconf)).hostname == urlsplit(DEFAULT_URL).hostname

    def config_problems(self, pconf) -> list[str]:
        return []

    def wire_request(self, request: TrainingRequest) -> dict[str, Any]:
        return job_body(request, self.capabilities)

    def headers(self, pconf, key: str | None) -> dict[str, str]:
        headers = {"authorization": f"Bearer {key}"} if key else {}
        org = pconf.options.get("organization") or os.environ.get("OPENAI_ORG_ID")
        project = pconf.options.get("openai_project") or os.environ.get("OPENAI_PROJECT_ID")
        if org:
            headers["openai-organization"] = org
        if project:
            headers["openai-project"] = project
        return headers

    def open(self, pconf, project, *, key, **kwargs):
        from ftops.providers.openai.client import OpenAIClient

        return OpenAIClient(pconf.name, self, self.endpoint(pconf), self.headers(pconf, key), secrets=(key,),
                            pconf=pconf, **kwargs)


KIND = OpenAIKind()
