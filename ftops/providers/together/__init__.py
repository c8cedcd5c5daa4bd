"""``together``: Together AI's fine-tuning API (``https://api.together.ai/v1``), or anything that speaks it.

The key comes from TOGETHER_API_KEY (or ``api_key_env``). Together's jobs have no metadata and no client-chosen id,
so ftops's launch key travels in the job's ``suffix``: ``<suffix>-<LaunchKey.short>`` (``ftops-<short>`` when the
spec has no suffix). Together allows 40 characters, so a spec's own suffix may use 31: the fit check counts the 9
characters of the tail, and the user part is shortened (never the key) should a longer one reach the wire. The 8
hex characters are read back from the job's ``suffix`` (``Capabilities.key_chars`` = 8), and the trained model is
the job's ``model_output_name``, pinned as it is (no deploy step).

Vocabulary: n_epochs, batch_size, learning_rate (absolute), warmup_ratio and seed (random_seed) are sent as such;
lora_rank/lora_alpha/lora_dropout go into ``training_type`` {type: Lora, lora_r, lora_alpha, lora_dropout};
``method.training_type`` lora|full picks Lora|Full (left out when the spec says nothing, so Together picks); DPO's
beta is ``training_method.dpo_beta``; a wandb integration fills wandb_project_name / wandb_name / wandb_entity.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from ftops.launch import SHORT_CHARS, LaunchKey
from ftops.providers.base import Capabilities, Rule, SuffixRule, TrainingRequest
from ftops.providers.kind import API_KEY_ENV, BASE_URL, HTTP_OPTIONS, ProviderKind

DEFAULT_URL = "https://api.together.ai/v1"
SUFFIX_MAX = 40  # Together's documented suffix limit (its quickstart says 64; the stricter figure is used)
KEY_TAIL = 1 + SHORT_CHARS  # "-" and LaunchKey.short
DEFAULT_SUFFIX = "ftops"
UNKNOWN_MODEL_LORA_RANK = 8  # LoRA rank for a base model the table does not know (its max rank is unknown)
_KEY_IN_SUFFIX = re.compile(rf"-([0-9a-f]{{{SHORT_CHARS}}})$")

_COMMON = {
    "n_epochs": Rule("int", 1, 20),
    "batch_size": Rule("int", 1, None),
    "learning_rate": Rule("number", 0, 1, low_open=True),
    "warmup_ratio": Rule("number", 0, 1),
    "lora_rank": Rule("int", 1, 64, wire="training_type.lora_r"),
    "lora_alpha": Rule("int", 1, None, wire="training_type.lora_alpha"),
    "lora_dropout": Rule("number", 0, 1, wire="training_type.lora_dropout"),
}
HYPERPARAMETERS = {
    "supervised": _COMMON,
    "dpo": {**_COMMON, "beta": Rule("number", 0, None, low_open=True, wire="training_method.dpo_beta")},
}
LORA = ("lora_rank", "lora_alpha", "lora_dropout")
CAPABILITIES = Capabilities(
    methods=("supervised", "dpo"), training_types=("lora", "full"), hyperparameters=HYPERPARAMETERS,
    suffix=SuffixRule(max_length=SUFFIX_MAX, charset="A-Za-z0-9_-", normalise_spaces=True, reserved=KEY_TAIL),
    verbs=frozenset({"cancel", "events", "checkpoints", "metrics", "delete_model", "import", "complete"}),
    idempotency="lookup", needs_deploy=False, integrations=("wandb",), min_examples=1, default_epochs="1",
    key_chars=SHORT_CHARS)


def carried_suffix(suffix: str | None, key: LaunchKey) -> str:
    """The suffix sent: the spec's (spaces as hyphens), shortened to leave room for ``-<key.short>``."""
    user = CAPABILITIES.suffix.sent(suffix) if suffix else ""
    user = user[:SUFFIX_MAX - KEY_TAIL].rstrip("-") or DEFAULT_SUFFIX
    return f"{user}-{key.short}"


def key_in_suffix(suffix: str | None) -> str | None:
    """The launch key characters a job's suffix carries (``...-<8 hex>``), or None."""
    found = _KEY_IN_SUFFIX.search(suffix or "")
    return found.group(1) if found else None


@lru_cache(maxsize=1)
def _table_rows() -> dict[str, dict[str, Any]]:
    """The raw rows of models.yaml, for what the neutral catalog does not hold (a model's max LoRA rank)."""
    text = resources.files(__name__).joinpath("models.yaml").read_text(encoding="utf-8")
    return dict(yaml.safe_load(text).get("models") or {})


class TogetherKind(ProviderKind):
    type = "together"
    description = "Together AI (api.together.ai) fine-tuning"
    capabilities = CAPABILITIES
    options = {"base_url": BASE_URL, "api_key_env": API_KEY_ENV, **HTTP_OPTIONS}
    catalog_package = "ftops.providers.together"
    key_env = "TOGETHER_API_KEY"
    default_base_url = DEFAULT_URL
    managed_fields = frozenset({"model", "from_checkpoint", "training_file", "validation_file", "n_epochs",
                                "batch_size", "learning_rate", "warmup_ratio", "training_method", "training_type",
                                "random_seed", "suffix", "wandb_api_key", "wandb_project_name", "wandb_name",
                                "wandb_entity"})

    def base_of(self, model: str) -> str:
        """A model Together trained, ``<namespace>/<base name>-<suffix>-<tail>``, -> the base model of the table
        whose name (without its organisation) starts it (the longest such); else ``model``."""
        models = self.catalog().models
        if model in models or "/" not in model:
            return model
        name = model.split("/", 1)[1]
        found = [base for base in models if name.startswith(base.rsplit("/", 1)[-1] + "-")]
        return max(found, key=len) if found else model

    def max_lora_rank(self, model: str) -> int:
        row = _table_rows().get(self.lookup(model).name) or {}
        rank = row.get("max_lora_rank")
        return int(rank) if isinstance(rank, int) else UNKNOWN_MODEL_LORA_RANK

    def training_type(self, request: TrainingRequest) -> dict[str, Any] | None:
        """Full, Lora (the raw API needs lora_r and lora_alpha: the model's max rank and twice the rank, as the
        official SDK fills them, unless the spec gives them), or None: the spec says nothing, Together picks."""
        hyper = request.hyperparameters
        if request.training_type == "full":
            return {"type": "Full"}
        if request.training_type != "lora" and not any(name in hyper for name in LORA):
            return None
        rank = int(hyper.get("lora_rank") or self.max_lora_rank(request.base_model))
        body: dict[str, Any] = {"type": "Lora", "lora_r": rank, "lora_alpha": int(hyper.get("lora_alpha", 2 * rank))}
        if "lora_dropout" in hyper:
            body["lora_dropout"] = hyper["lora_dropout"]
        return body

    def wire_request(self, request: TrainingRequest) -> dict[str, Any]:
        """``POST /fine-tunes`` for ``request`` (without a W&B key: the client adds WANDB_API_KEY when sending)."""
        hyper = request.hyperparameters
        body: dict[str, Any] = {}
        if self.base_of(request.base_model) != request.base_model:  # continue from a model trained here
            body["from_checkpoint"] = request.base_model
        else:
            body["model"] = request.base_model
        body["training_file"] = request.training_file
        if request.validation_file:
            body["validation_file"] = request.validation_file
        for name in ("n_epochs", "batch_size"):
            if name in hyper:
                body[name] = int(hyper[name])
        for name in ("learning_rate", "warmup_ratio"):
            if name in hyper:
                body[name] = hyper[name]
        if request.method == "dpo":
            body["training_method"] = {"method": "dpo", **({"dpo_beta": hyper["beta"]} if "beta" in hyper else {})}
        else:
            body["training_method"] = {"method": "sft", "train_on_inputs": "auto"}
        training_type = self.training_type(request)
        if training_type is not None:
            body["training_type"] = training_type
        if request.seed is not None:
            body["random_seed"] = request.seed
        body["suffix"] = carried_suffix(request.suffix, request.launch)
        wandb = next((dict(i.get("wandb") or {}) for i in request.integrations if i.get("type") == "wandb"), None)
        if wandb is not None:
            for neutral, wire in (("project", "wandb_project_name"), ("name", "wandb_name"),
                                  ("entity", "wandb_entity")):
                if wandb.get(neutral):
                    body[wire] = wandb[neutral]
        body.update(request.options)
        return body

    def open(self, pconf, project, *, key, **kwargs):
        from ftops.providers.together.client import TogetherClient

        return TogetherClient(pconf.name, self, self.endpoint(pconf), {"authorization": f"Bearer {key}"} if key else {},
                              secrets=(key,), pconf=pconf, wandb_key=os.environ.get("WANDB_API_KEY") or None,
                              **kwargs)


KIND = TogetherKind()
