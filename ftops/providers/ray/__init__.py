"""``ray``: self-hosted training on a Ray cluster, through its job server's REST API (the dashboard address).

```yaml
providers:
  gpu: {type: ray, address: "http://127.0.0.1:8265", artifacts: "s3://bucket/ftops", trainer: trl}
```

Each run is one Ray job: ftops's launcher (ftops_ray_launch.py) runs the trainer, the built-in TRL one
(``trainer: trl``) or a command of your own (``trainer: {entrypoint: "python train.py --data {training_file} --out
{output_dir}", working_dir: trainers/}``), with the datasets shipped as content-addressed packages. The trained model
is the artifact ``<artifacts>/<project>/<spec>/<launch key id>``; the lockfile pins that URI and records the base
model and adapter type in ``location``. The launch key is the submission id (``ftops-<key id>-<attempt>``), which
Ray never accepts twice: ``idempotency = "native"``. Ray knows no prices: the plan shows the GPUs a run requests,
or a cost from ``gpu_hour_usd`` and ``tokens_per_gpu_hour`` when ftops.yaml gives them. With ``serve: {url}`` (an
OpenAI-compatible server of the cluster's models, such as vLLM) the trained models can be called, so evals run.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from ftops.providers.base import Capabilities, Rule, SuffixRule, TrainingRequest
from ftops.providers.kind import API_KEY_ENV, HTTP_OPTIONS, ProviderKind
from ftops.providers.ray.settings import PLACEHOLDERS, RaySettings, problems, settings_of
from ftops.providers.ray.wire import job_body, submission_id

_COMMON = {"n_epochs": Rule("int", 1, None, wire="num_train_epochs"),
           "batch_size": Rule("int", 1, None, wire="per_device_train_batch_size"),
           "learning_rate": Rule("number", 0, 1, low_open=True),
           "warmup_ratio": Rule("number", 0, 1), "warmup_steps": Rule("int", 0, None),
           "lora_rank": Rule("int", 1, 1024, wire="r"), "lora_alpha": Rule("number", 0, None, low_open=True),
           "lora_dropout": Rule("number", 0, 1)}
CAPABILITIES = Capabilities(
    methods=("supervised", "dpo"), training_types=("lora", "full"),
    hyperparameters={"supervised": _COMMON, "dpo": {**_COMMON, "beta": Rule("number", 0, None, low_open=True)}},
    suffix=SuffixRule(max_length=64), verbs=frozenset({"cancel", "events", "metrics", "delete_model", "import"}),
    idempotency="native", needs_deploy=False, seed=True, min_examples=1,
    default_epochs="3")  # TRL's num_train_epochs default

_NUMBER = {"type": "number", "minimum": 0}
_TRAINER = {"oneOf": [
    {"const": "trl", "description": "ftops's TRL trainer (SFT or DPO, LoRA or full), installed through runtime_env."},
    {"type": "object", "required": ["entrypoint"], "additionalProperties": False, "properties": {
        "entrypoint": {"type": "string", "minLength": 1,
                       "description": "The command; placeholders: " + ", ".join("{" + p + "}" for p in PLACEHOLDERS)},
        "working_dir": {"type": "string", "description": "Project-relative directory shipped with the job."}}},
], "description": "trl, or {entrypoint, working_dir} for a trainer of your own (default trl)."}
OPTIONS: dict[str, dict[str, Any]] = {
    "address": {"type": "string", "pattern": "^https?://",
                "description": "The Ray dashboard / job server, e.g. http://127.0.0.1:8265 (plain http only to "
                               "loopback unless allow_http is set)."},
    "token_env": {**API_KEY_ENV, "description": "The environment variable holding a bearer token, for clusters "
                                                "that require one (sent only where trusted configuration binds it)."},
    "allow_http": {"type": "boolean", "description": "Allow plain http:// to a host that is not loopback."},
    "artifacts": {"type": "string", "pattern": "^(s3://|gs://|hf://|file:///)",
                  "description": "Where trained models go: s3://BUCKET/PREFIX, gs://..., hf://ORG/REPO or "
                                 "file:///PATH (a local cluster)."},
    "trainer": _TRAINER,
    "num_gpus": {**_NUMBER, "description": "GPUs for the trainer (entrypoint_num_gpus)."},
    "num_cpus": {**_NUMBER, "description": "CPUs for the trainer (entrypoint_num_cpus)."},
    "memory": {"type": ["integer", "string"], "description": "Memory for the trainer: bytes or like \"16GiB\" "
                                                             "(entrypoint_memory)."},
    "resources": {"type": "object", "additionalProperties": {"type": "number", "minimum": 0},
                  "description": "Custom Ray resources for the trainer (entrypoint_resources)."},
    "pip": {"type": "array", "items": {"type": "string"}, "description": "Extra pip requirements (runtime_env)."},
    "env_vars": {"type": "object", "additionalProperties": {"type": "string"},
                 "description": "Environment of the trainer (runtime_env; visible in the job's record: no "
                                "secrets)."},
    "serve": {"type": "object", "required": ["url"], "additionalProperties": False,
              "description": "An OpenAI-compatible server of the cluster's models (vLLM, say), used by evals. Its "
                             "key is sent only where trusted configuration binds it, as for any endpoint.",
              "properties": {
                  "url": {"type": "string", "pattern": "^https?://",
                          "description": "Its base URL, e.g. http://127.0.0.1:8000/v1 (chat/completions under it)."},
                  "api_key_env": {**API_KEY_ENV, "description": "The environment variable holding its key, if it "
                                                                "takes one."},
                  "model": {"type": "string", "minLength": 1,
                            "description": "The name a pinned model is called by there: {model} (the artifact "
                                           "URI, the default) or {name} (its last path segment)."}}},
    "gpu_hour_usd": {**_NUMBER, "description": "What one GPU-hour costs you (for plan estimates)."},
    "tokens_per_gpu_hour": {"type": "number", "exclusiveMinimum": 0,
                            "description": "Trained tokens one GPU gets through in an hour on your cluster (turns "
                                           "gpu_hour_usd into an estimate)."},
    **HTTP_OPTIONS,
}


class RayKind(ProviderKind):
    type = "ray"
    description = "a Ray cluster's job server (self-hosted training through the Ray Jobs REST API)"
    capabilities = CAPABILITIES
    options = OPTIONS
    required = ("address", "artifacts")
    managed_fields = frozenset({"entrypoint", "submission_id", "job_id", "runtime_env", "metadata"})

    def __init__(self, settings: RaySettings | None = None):
        self.settings = settings  # set on the kind effective(pconf) returns: its translation needs the block
        if settings is not None and settings.serve is not None:  # its models can be called: evals can run
            self.capabilities = replace(CAPABILITIES, verbs=CAPABILITIES.verbs | {"complete"})

    def effective(self, pconf) -> "RayKind":
        return RayKind(settings_of(pconf.options))

    def endpoint(self, pconf) -> str | None:
        return pconf.options.get("address")

    def key_variable(self, pconf) -> str | None:
        return pconf.options.get("token_env")  # none: nothing secret is sent, no binding is needed

    def side_endpoints(self, pconf) -> dict[str, tuple[str | None, str]]:
        serve = settings_of(pconf.options).serve
        return {"serve": (serve.api_key_env, serve.url)} if serve is not None else {}

    def binds_lifecycle(self, pconf) -> bool:
        return False

    def config_problems(self, pconf) -> list[str]:
        return problems(pconf.options)

    def wire_request(self, request: TrainingRequest) -> dict[str, Any]:
        """The submit body of the first attempt, with the trainer package's name left symbolic (it is the hash
        of the package, known once the client has built it)."""
        if self.settings is None:
            raise TypeError("translate with the kind bound to a provider block: KIND.effective(pconf)")
        return job_body(request, self.settings, trainer_uri="gcs://<trainer package>",
                        job_id=submission_id(request.launch, 1))

    def run_estimate(self, pconf, options: dict[str, Any], trained_tokens: int) -> tuple[float | None, str | None]:
        settings = settings_of(pconf.options)
        gpus = options.get("num_gpus", settings.resources.get("num_gpus", 0)) or 0
        if not gpus:
            cpus = options.get("num_cpus", settings.resources.get("num_cpus"))
            return None, f"requests no GPU{f' ({cpus:g} CPUs)' if cpus else ''}; Ray reports no prices"
        asks = f"requests {gpus:g} GPU{'s' if gpus != 1 else ''}"
        rate, speed = settings.gpu_hour_usd, settings.tokens_per_gpu_hour
        if rate is not None and speed:
            hours = trained_tokens / speed
            return round(hours * rate, 4), f"{hours:.2f} GPU-hours at ${rate:g}/GPU-hour; {asks}"
        if rate is not None:
            return None, f"{asks} at ${rate:g}/GPU-hour; set tokens_per_gpu_hour for a total"
        return None, f"{asks}; Ray reports no prices (set gpu_hour_usd and tokens_per_gpu_hour for an estimate)"

    def model_location(self, pconf) -> dict[str, Any]:
        return {"type": self.type, "endpoint": pconf.options.get("address"),
                "artifacts": pconf.options.get("artifacts")}

    def open(self, pconf, project, *, key, **kwargs):
        from ftops.providers.ray.client import RayClient

        headers = {"authorization": f"Bearer {key}"} if key else {}
        root = project.root if project is not None else Path.cwd()
        return RayClient(pconf.name, self.effective(pconf), settings_of(pconf.options), root, headers,
                         secrets=(key,), pconf=pconf, **kwargs)


KIND = RayKind()
