"""The ray provider type without a cluster: status mapping (exhaustive over Ray's OpenAPI enum), the built-in TRL
trainer's generated request and config (golden files: SFT LoRA, SFT full, DPO; running it needs a GPU), the
packages (deterministic; a changed dataset refused before the package completes), the config checks, plan
estimates, `ftops init --provider ray`, and that ftops never imports ray."""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from pathlib import Path

import pytest
import yaml

from ftops.config import ProviderConfig
from ftops.errors import ConfigError
from ftops.launch import LaunchKey
from ftops.providers import base
from ftops.providers.base import TrainingRequest
from ftops.providers.ray import KIND
from ftops.providers.ray.package import (DatasetChanged, build_trainer_package, data_package_bytes,
                                         stream_data_package, trainer_files)
from ftops.providers.ray.settings import problems
from ftops.providers.ray.wire import STATUS_MAP, canonical_state, error_of, events_of
from tests.conftest import chat_example, write_jsonl
from tests.newcomer.support import cli

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
KEY = LaunchKey("demo", "support-bot", "v2:sha256:" + "ab" * 32)


def golden(name: str, value: dict) -> None:
    path = GOLDEN / name
    text = json.dumps(value, indent=2, sort_keys=True) + "\n"
    if os.environ.get("FTOPS_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text, f"{name} differs; FTOPS_UPDATE_GOLDEN=1 rewrites it"


def test_every_status_in_rays_openapi_enum_maps_to_exactly_one_canonical_state():
    spec = yaml.safe_load((HERE / "ray-jobs-openapi.yaml").read_text())
    enum = spec["components"]["schemas"]["JobStatus"]["enum"]
    assert sorted(STATUS_MAP) == sorted(enum)
    assert {s: canonical_state(s) for s in enum} == {"PENDING": "queued", "RUNNING": "running",
                                                    "STOPPED": "cancelled", "SUCCEEDED": "succeeded",
                                                    "FAILED": "failed"}
    assert canonical_state("DRAINING") == base.UNKNOWN  # a status ftops does not know is in flight, never done


TRL = ProviderConfig("gpu", "ray", {"address": "http://127.0.0.1:8265", "artifacts": "s3://models/ftops",
                                    "trainer": "trl", "num_gpus": 1, "memory": "24GiB"})


def request(method: str, training_type: str | None, hyper: dict) -> TrainingRequest:
    return TrainingRequest(launch=KEY, base_model="Qwen/Qwen2.5-0.5B-Instruct", method=method,
                           training_file="gcs://_ray_pkg_ftops-data1-" + "1" * 32 + ".zip",
                           validation_file="gcs://_ray_pkg_ftops-data1-" + "2" * 32 + ".zip",
                           hyperparameters=hyper, training_type=training_type, seed=7,
                           metadata={"team": "support"}, options={"num_gpus": 2})


@pytest.mark.parametrize("name, method, training_type, hyper", [
    ("trl-sft-lora", "supervised", None, {"n_epochs": 2, "learning_rate": 0.0002, "lora_rank": 16,
                                          "lora_alpha": 32, "lora_dropout": 0.05, "batch_size": 4}),
    ("trl-sft-full", "supervised", "full", {"n_epochs": 1, "learning_rate": 0.00001, "warmup_ratio": 0.1}),
    ("trl-dpo", "dpo", "lora", {"beta": 0.1, "n_epochs": 1}),
])
def test_the_builtin_trl_trainer_gets_this_request_and_config(name, method, training_type, hyper):
    body = KIND.effective(TRL).wire_request(request(method, training_type, hyper))
    run = json.loads(body["runtime_env"]["env_vars"].pop("FTOPS_RUN"))
    golden(f"{name}.json", {"body": body, "FTOPS_RUN": run})
    assert body["submission_id"] == f"ftops-{KEY.id}-1" and body["entrypoint_num_gpus"] == 2  # the spec wins
    assert body["entrypoint_memory"] == 24 * 2**30


def test_the_trl_config_holds_only_what_the_spec_declared_and_lora_unless_full():
    sft = KIND.effective(TRL).wire_request(request("supervised", None, {}))
    run = json.loads(sft["runtime_env"]["env_vars"]["FTOPS_RUN"])
    assert run["trl"] == {"trainer": "sft", "peft": {"task_type": "CAUSAL_LM", "target_modules": "all-linear"},
                          "args": {"eval_strategy": "epoch", "logging_steps": 1, "report_to": "none",
                                   "save_strategy": "no", "seed": 7}}
    assert sft["metadata"]["ftops_adapter"] == "lora" and sft["runtime_env"]["pip"][:2] == ["trl==1.16.0",
                                                                                          "peft==0.21.2"]
    assert "s3fs" in sft["runtime_env"]["pip"]  # the launcher copies the model to s3 with it


def test_the_trl_script_ships_and_compiles_without_trl_installed():
    files = trainer_files(Path("."), "trl", None)
    assert sorted(files) == ["ftops_ray_launch.py", "ftops_trl.py"]
    for name, source in files.items():
        compile(source if isinstance(source, bytes) else source.read_bytes(), name, "exec")


def test_a_dataset_package_is_the_same_bytes_every_time_and_holds_the_dataset(tmp_path):
    path = write_jsonl(tmp_path / "train.jsonl", [chat_example(i) for i in range(50)])
    import hashlib

    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    first, second = data_package_bytes(path, sha), data_package_bytes(path, sha)
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        (info,) = archive.infolist()
        assert (info.filename, info.date_time) == ("data.jsonl", (1980, 1, 1, 0, 0, 0))
        assert archive.read("data.jsonl") == path.read_bytes()


def test_a_dataset_changed_since_the_plan_is_refused_before_its_package_is_complete(tmp_path):
    path = write_jsonl(tmp_path / "train.jsonl", [chat_example(i) for i in range(50)])
    sent = []
    with pytest.raises(DatasetChanged, match="changed after the plan"):
        for chunk in stream_data_package(path, "0" * 64):
            sent.append(chunk)
    assert b"PK\x05\x06" not in b"".join(sent)  # no end of central directory: the server stores nothing


def test_a_trainer_package_is_deterministic_and_stays_inside_the_project(tmp_path):
    (tmp_path / "trainers" / "t").mkdir(parents=True)
    (tmp_path / "trainers" / "t" / "train.py").write_text("print('hi')\n")
    (tmp_path / "trainers" / "t" / "__pycache__").mkdir()
    (tmp_path / "trainers" / "t" / "__pycache__" / "x.pyc").write_bytes(b"junk")
    one = build_trainer_package(trainer_files(tmp_path, None, "trainers/t"))
    os.utime(tmp_path / "trainers" / "t" / "train.py", (1, 1))
    two = build_trainer_package(trainer_files(tmp_path, None, "trainers/t"))
    try:
        assert one.name == two.name and one.file.read() == two.file.read()
        assert sorted(zipfile.ZipFile(two.file).namelist()) == ["ftops_ray_launch.py", "train.py"]
    finally:
        one.close()
        two.close()
    (tmp_path / "outside.py").write_text("secret = 1\n")
    (tmp_path / "trainers" / "t" / "link.py").symlink_to(tmp_path.parent / "elsewhere.py")
    (tmp_path.parent / "elsewhere.py").write_text("x = 1\n")
    with pytest.raises(ConfigError, match="links outside the project"):
        trainer_files(tmp_path, None, "trainers/t")


@pytest.mark.parametrize("options, expected", [
    ({"artifacts": "file:///tmp/a", "trainer": {"entrypoint": "python t.py {data}"}}, "unknown placeholder(s) {data}"),
    ({"artifacts": "file:///tmp/a", "trainer": {"entrypoint": "x", "working_dir": "../elsewhere"}}, "leaves the project"),
    ({"artifacts": "file:///tmp/a", "trainer": {"entrypoint": "x", "working_dir": "/abs"}}, "must be relative"),
    ({"artifacts": "hf://just-org"}, "must be hf://ORG/REPO"),
    ({"artifacts": "file:///tmp/a", "memory": "lots"}, "is not a size"),
    ({"artifacts": "file:///tmp/a", "trainer": "axolotl"}, "is not built in"),
])
def test_config_problems_the_schema_cannot_express(options, expected):
    assert any(expected in p for p in problems(options)), problems(options)


def test_plain_http_to_a_remote_head_needs_allow_http(tmp_path):
    (tmp_path / "ftops.yaml").write_text(yaml.safe_dump({"providers": {"gpu": {
        "type": "ray", "address": "http://ray-head.internal:8265", "artifacts": "file:///tmp/a"}}}))
    refused = cli(tmp_path, "validate")
    assert refused.rc == 1 and "address uses plain http://" in refused.err and "allow_http: true" in refused.err
    (tmp_path / "ftops.yaml").write_text(yaml.safe_dump({"providers": {"gpu": {
        "type": "ray", "address": "http://ray-head.internal:8265", "artifacts": "file:///tmp/a",
        "allow_http": True}}}))
    assert "address uses plain http" not in cli(tmp_path, "validate").err


def test_a_failed_jobs_error_is_the_exception_its_log_ends_with():
    message = ("Job entrypoint command failed with exit code 1, last available logs (truncated to 20,000 chars):\n"
               "  File \"train.py\", line 3, in <module>\n    main()\nKeyError: 'x'\n"
               "ftops: the trainer exited with code 1 after 0.2s\n")
    error = error_of({"status": "FAILED", "message": message, "error_type": "JOB_ENTRYPOINT_COMMAND_ERROR",
                      "driver_exit_code": 1})
    assert error is not None and error.code == "JOB_ENTRYPOINT_COMMAND_ERROR"
    assert error.message == "the trainer exited with code 1: KeyError: 'x'"


def test_metrics_lines_of_the_log_are_metrics_events():
    logs = ("Running entrypoint for job j: python ftops_ray_launch.py\n"
            'FTOPS_METRICS {"step": 1, "train_loss": 2.5}\nepoch 1\nFTOPS_METRICS {"step": 2, "train_loss": 2.25, '
            '"valid_loss": 2.75}\n')
    events = events_of("j", logs, 100)
    metrics = [e for e in events if e.type == "metrics"]
    assert [e.message for e in metrics] == ["Step 1: training loss=2.5",
                                            "Step 2: training loss=2.25, validation loss=2.75"]
    assert [e.type for e in events] == ["message", "metrics", "message", "metrics"]


def _project(tmp_path, **block) -> Path:
    (tmp_path / "ftops.yaml").write_text(yaml.safe_dump({"project": "est", "default_provider": "gpu", "providers": {
        "gpu": {"type": "ray", "address": "http://127.0.0.1:1", "artifacts": "file:///tmp/est", **block}}}))
    write_jsonl(tmp_path / "data" / "a.jsonl", [chat_example(i) for i in range(40)])
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "a.yaml").write_text(yaml.safe_dump({
        "name": "a", "base_model": "Qwen/Qwen2.5-0.5B-Instruct", "training_file": "../data/a.jsonl",
        "budget_usd": 0.01, "method": {"type": "supervised", "hyperparameters": {"n_epochs": 2}}}))
    return tmp_path


def test_the_plan_shows_the_gpus_a_run_requests_instead_of_dollars(tmp_path):
    plan = cli(_project(tmp_path, num_gpus=1), "plan", "--no-refresh")
    assert plan.rc == 0, plan.all
    assert "trained tokens, requests 1 GPU; Ray reports no prices (set gpu_hour_usd and tokens_per_gpu_hour" \
        in plan.out
    assert "no price known" not in plan.all


def test_a_gpu_hour_rate_and_a_throughput_give_a_cost_that_budgets_check(tmp_path):
    root = _project(tmp_path, num_gpus=2, gpu_hour_usd=2.5, tokens_per_gpu_hour=10000)
    plan = cli(root, "plan", "--no-refresh", "--format", "json")
    (action,) = json.loads(plan.out)["actions"]
    est = action["estimate"]
    hours = est["trained_tokens"] / 10000
    assert est["usd"] == round(hours * 2.5, 4) and est["note"] == f"{hours:.2f} GPU-hours at $2.5/GPU-hour; " \
                                                                     "requests 2 GPUs"
    assert plan.rc == 1 and "exceeds budget_usd" in plan.out  # budget_usd 0.01


def test_ftops_init_provider_ray_makes_a_project_that_validates(tmp_path):
    made = cli(tmp_path, "init", "--provider", "ray")
    assert made.rc == 0 and "does not support provider type" not in made.err, made.all
    validated = cli(tmp_path, "validate")
    assert validated.rc == 0, validated.all
    plan = cli(tmp_path, "plan", "--no-refresh")
    assert plan.rc == 0 and "requests no GPU" in plan.out, plan.all


def test_ftops_never_imports_ray():
    root = Path(__file__).parents[2] / "ftops"
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if re.search(r"^\s*(import ray\b|from ray\b)", p.read_text(), re.MULTILINE)]
    assert offenders == []
