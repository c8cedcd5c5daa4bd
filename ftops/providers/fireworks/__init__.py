"""``fireworks``: Fireworks AI's control plane (``https://api.fireworks.ai/v1/accounts/{account}/...``).

The key comes from FIREWORKS_API_KEY (or ``api_key_env``); ``account`` is required. Resources are Google-AIP
style (camelCase JSON, ``:verb`` actions, int64 as strings, gRPC status errors) and their ids are chosen by the
client, which is how ftops creates nothing twice (``idempotency = "native"``, no lease):

- a dataset is ``ftops-<sha256[:20]>`` of its content, so the same bytes are one dataset whoever uploads them;
- a job is ``ftops-<launch key id>-<attempt>``: attempt 1 first; a retry after a failed or cancelled job (same
  launch key), or a new training after its model was deleted, takes the next number, while a create whose answer
  was lost is sent again with the same id, comes back 409 ALREADY_EXISTS and is adopted. The launch key is read
  back from the job's id;
- the trained model is ``accounts/{account}/models/<slug of suffix or spec>-<launch key id>-<attempt>``.

Supervised jobs are ``supervisedFineTuningJobs`` (settings at the top level), preference jobs ``dpoJobs`` (settings
under ``trainingConfig``, the loss under ``lossConfig`` with ``method: DPO``). A trained LoRA is served only on a
dedicated deployment: the optional deploy step loads it onto one (``deployedModels``) and the lockfile then pins
``<model>#<deployment>``, the name applications call.
"""

from __future__ import annotations

import re
from typing import Any

from ftops.launch import KEY_CHARS, LaunchKey, slug
from ftops.providers.base import Capabilities, Rule, SuffixRule, TrainingRequest
from ftops.providers.kind import API_KEY_ENV, BASE_URL, HTTP_OPTIONS, ProviderKind

DEFAULT_URL = "https://api.fireworks.ai"
BASE_ACCOUNT = "fireworks"  # base models live under accounts/fireworks/models/
ID_RULE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")  # datasets, jobs, models, deployments
ATTEMPT_ID = re.compile(rf"^ftops-([0-9a-f]{{{KEY_CHARS}}})-([1-9][0-9]{{0,5}})$")
SFT, DPO = "supervisedFineTuningJobs", "dpoJobs"
COLLECTIONS = {"supervised": SFT, "dpo": DPO}
ID_PARAMS = {SFT: "supervisedFineTuningJobId", DPO: "dpoJobId"}
SLUG_CHARS = 32  # of the output model's readable part: with the key and the attempt it stays within 63

# The neutral vocabulary -> Fireworks' names (docs.fireworks.ai/fine-tuning/fine-tuning-models, SDK 1.2.30).
WIRE = {"n_epochs": "epochs", "learning_rate": "learningRate", "batch_size": "batchSizeSamples",
        "warmup_steps": "learningRateWarmupSteps", "lora_rank": "loraRank"}
LORA_RANKS = (1, 2, 4, 8, 16, 32)  # "LoRA rank must be a power of 2 up to 32. Our default value is 8."
_COMMON = {
    "n_epochs": Rule("int", 1, None, wire="epochs"),
    "learning_rate": Rule("number", 0, 1, low_open=True, wire="learningRate"),
    "batch_size": Rule("int", 1, None, wire="batchSizeSamples"),  # samples per optimizer step (not batchSize,
    "warmup_steps": Rule("int", 0, None, wire="learningRateWarmupSteps"),  # a token budget Training V2 rejects)
    "lora_rank": Rule("int", choices=LORA_RANKS, wire="loraRank"),
}
HYPERPARAMETERS = {
    "supervised": _COMMON,
    "dpo": {**_COMMON, "beta": Rule("number", 0, 0.5, low_open=True, high_open=True, wire="lossConfig.dpo.beta")},
}
CAPABILITIES = Capabilities(
    methods=("supervised", "dpo"), training_types=("lora",), hyperparameters=HYPERPARAMETERS,
    suffix=SuffixRule(max_length=SLUG_CHARS, charset="a-z0-9-"),
    verbs=frozenset({"cancel", "resume", "delete_model", "deploy", "import", "complete"}),
    idempotency="native", needs_deploy=True, seed=False, integrations=("wandb",), min_examples=3,
    default_epochs="1")
# TrainingConfig's keys: a DPO job's provider_options with these names go under trainingConfig.
TRAINING_CONFIG_KEYS = frozenset({"baseModel", "warmStartFrom", "outputModel", "epochs", "learningRate",
                                  "learningRateWarmupSteps", "loraRank", "maxContextLength", "batchSize",
                                  "batchSizeSamples", "gradientAccumulationSteps", "optimizerWeightDecay",
                                  "jinjaTemplate", "region", "samplerCheckpointSaveIntervalSteps"})


def attempt_id(key: LaunchKey | str, attempt: int) -> str:
    """The id of the ``attempt``-th job for a launch key (1, 2, ...: a retry after a failure is a new job)."""
    return f"ftops-{key.id if isinstance(key, LaunchKey) else key}-{attempt}"


def parse_attempt(job_id: str) -> tuple[str, int] | None:
    """(launch key id, attempt) of a job id or resource name ftops made; None for anyone else's."""
    found = ATTEMPT_ID.match(job_id.rsplit("/", 1)[-1])
    return (found.group(1), int(found.group(2))) if found else None


def dataset_id(sha256: str) -> str:
    return f"ftops-{sha256[:20]}"


def output_model_id(request: TrainingRequest, attempt: int = 1) -> str:
    """The trained model's id: readable (the suffix, else the spec's name) and unique to the launch key and the
    attempt (a model trained again after the first was deleted gets a new name)."""
    return f"{slug(request.suffix or request.launch.spec, SLUG_CHARS)}-{request.launch.id}-{attempt}"


def is_base_model(model: str) -> bool:
    """A Fireworks base model (trained with baseModel) rather than a fine-tune to continue (warmStartFrom)."""
    return model.startswith(f"accounts/{BASE_ACCOUNT}/") or "/" not in model


def _wandb(integrations: tuple[dict[str, Any], ...]) -> dict[str, Any] | None:
    for item in integrations:
        wandb = item.get("wandb") if item.get("type") == "wandb" else None
        if isinstance(wandb, dict):
            return {"enabled": True, **{k: wandb[k] for k in ("project", "entity") if wandb.get(k)}}
    return None


def job_body(request: TrainingRequest, attempt: int = 1) -> dict[str, Any]:
    """The JSON body of ``POST .../supervisedFineTuningJobs`` or ``.../dpoJobs`` for the ``attempt``-th job of
    the launch key (its id, ``attempt_id(key, attempt)``, goes in the query)."""
    config: dict[str, Any] = {("baseModel" if is_base_model(request.base_model) else "warmStartFrom"):
                              request.base_model, "outputModel": output_model_id(request, attempt)}
    config.update({WIRE[name]: value for name, value in request.hyperparameters.items() if name in WIRE})
    body: dict[str, Any] = {"dataset": request.training_file, "displayName": request.suffix or request.launch.spec}
    wandb = _wandb(request.integrations)
    if wandb:
        body["wandbConfig"] = wandb
    if request.method == "dpo":
        loss: dict[str, Any] = {"method": "DPO"}  # unspecified would be GRPO for preference jobs
        if "beta" in request.hyperparameters:
            loss["dpo"] = {"beta": request.hyperparameters["beta"]}
        options = dict(request.options)
        config.update({k: options.pop(k) for k in list(options) if k in TRAINING_CONFIG_KEYS})
        body.update(trainingConfig=config, lossConfig=loss)
        body.update(options)
        return body
    body.update(config)
    if request.validation_file:
        body["evaluationDataset"] = request.validation_file
    body.update(request.options)
    return body


def deployment_name(target: str, account: str) -> str:
    """A deployment's resource name from what a spec says (its id, or its name)."""
    return target if target.startswith("accounts/") else f"accounts/{account}/deployments/{target}"


class FireworksKind(ProviderKind):
    type = "fireworks"
    description = "Fireworks AI (supervised and DPO fine-tuning, deploy onto a deployment)"
    capabilities = CAPABILITIES
    options = {"account": {"type": "string", "minLength": 1, "maxLength": 63, "pattern": "^[^/\\s]+$",
                           "description": "Your Fireworks account id (resources live under accounts/ACCOUNT/)."},
               "base_url": BASE_URL, "api_key_env": API_KEY_ENV, **HTTP_OPTIONS}
    required = ("account",)
    catalog_package = "ftops.providers.fireworks"
    key_env = "FIREWORKS_API_KEY"
    default_base_url = DEFAULT_URL
    deploy_options = {
        "deployment": {"type": "string", "minLength": 1, "maxLength": 256,
                       "description": "fireworks: an existing deployment to load the model onto (its id or "
                                      "resource name); a fine-tuned LoRA is served only on one."},
        "serverless": {"type": "boolean", "description": "fireworks: no serverless deploy exists for fine-tuned "
                                                         "LoRAs (kept so the spec error says so)."},
    }
    managed_fields = frozenset({"dataset", "baseModel", "warmStartFrom", "outputModel", "displayName", "epochs",
                                "learningRate", "batchSizeSamples", "learningRateWarmupSteps", "loraRank",
                                "evaluationDataset", "wandbConfig", "trainingConfig", "lossConfig",
                                "supervisedFineTuningJobId", "dpoJobId"})

    def spec_problems(self, data: dict[str, Any]) -> list[tuple[list, str]]:
        problems = []
        method: dict[str, Any] = data["method"] if isinstance(data.get("method"), dict) else {}
        if method.get("type") == "dpo" and data.get("validation_file"):
            problems.append((["validation_file"], "a DPO job takes no evaluation dataset (remove validation_file)"))
        deploy = data.get("deploy")
        if isinstance(deploy, dict):
            target = deploy.get("deployment")
            if not target:
                problems.append((["deploy"], "a fine-tuned LoRA is served only on a dedicated deployment (there is "
                                             "no serverless LoRA); set deploy.deployment to a deployment created "
                                             "with addons enabled"))
            elif isinstance(target, str) and not (ID_RULE.match(target) or re.fullmatch(
                    r"accounts/[^/\s]+/deployments/[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", target)):
                problems.append((["deploy", "deployment"], f"{target!r} is not a deployment id ([a-z0-9-], 1-63 "
                                                           "characters) or accounts/ACCOUNT/deployments/ID"))
        return problems

    def wire_request(self, request: TrainingRequest) -> dict[str, Any]:
        """The body of the launch key's first job (a retry's names its attempt in outputModel)."""
        return job_body(request)

    def model_location(self, pconf) -> dict[str, Any]:
        return {"type": self.type, "endpoint": self.endpoint(pconf), "account": pconf.options.get("account")}

    def open(self, pconf, project, *, key, **kwargs):
        from ftops.providers.fireworks.client import FireworksClient

        return FireworksClient(pconf.name, self, self.endpoint(pconf), pconf.options.get("account"),  # None: local
                               {"authorization": f"Bearer {key}"} if key else {}, secrets=(key,), pconf=pconf,
                               **kwargs)


KIND = FireworksKind()
