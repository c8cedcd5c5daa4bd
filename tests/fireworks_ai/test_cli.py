"""ftops on a `type: fireworks` provider through the CLI, against the emulator's fireworks dialect: the neutral
vocabulary's errors, the exact DPO request, and the deploy step (the pin moves only once the model is callable,
and a second apply does not deploy again)."""

from __future__ import annotations

import httpx
import pytest
import yaml

from ftops.emulator import EmulatorConfig, start
from ftops.launch import LaunchKey
from tests.conftest import TEST_KEY_ENV, Project, write_jsonl

from .conftest import BASE, dpo_rows

ACCOUNT = "acct-test"


class FwProject(Project):
    def __init__(self, root, emu):
        super().__init__(root, emu, bind={TEST_KEY_ENV: emu.url})
        self.write("ftops.yaml", yaml.safe_dump({"project": "fwproj", "default_provider": "fw", "providers": {
            "fw": {"type": "fireworks", "account": ACCOUNT, "base_url": emu.url, "api_key_env": TEST_KEY_ENV}}}))

    def spec(self, name: str, **fields):
        return super().spec(name, **{"base_model": BASE, **fields})

    def deployment(self, dep_id: str, **fields) -> str:
        """A dedicated deployment with addons enabled, made as a user would (firectl / the API), and READY."""
        httpx.post(f"{self.emu.url}/v1/accounts/{ACCOUNT}/deployments", params={"deploymentId": dep_id},
                   headers={"authorization": "Bearer k"},
                   json={"baseModel": BASE, "enableAddons": True, **fields}).raise_for_status()
        self.advance(60)
        return f"accounts/{ACCOUNT}/deployments/{dep_id}"

    def state(self) -> dict:
        return self.admin("GET", "state")


@pytest.fixture
def fw(tmp_path):
    emu = start(EmulatorConfig(state_dir=tmp_path / "emulator", api="fireworks", job_duration=10.0))
    root = tmp_path / "proj"
    root.mkdir()
    try:
        yield FwProject(root, emu)
    finally:
        emu.stop()


def test_a_learning_rate_multiplier_is_a_spec_error_naming_what_fireworks_takes(fw):
    fw.dataset("data/a.jsonl", 5)
    fw.spec("a", method={"type": "supervised", "hyperparameters": {"learning_rate_multiplier": 2}})
    result = fw.run("validate")
    assert result.rc == 1
    assert "method.hyperparameters.learning_rate_multiplier" in result.err
    assert "provider 'fw' (fireworks) does not take learning_rate_multiplier for supervised training; use " \
           "learning_rate (an absolute rate; a multiplier is never converted)" in result.err
    assert "(it takes: n_epochs, learning_rate, batch_size, warmup_steps, lora_rank)" in result.err


@pytest.mark.parametrize("fields, message", [
    ({"method": {"type": "supervised", "hyperparameters": {"lora_rank": 12}}},
     "12 is not allowed; expected an integer, one of 1, 2, 4, 8, 16, 32 for provider 'fw' (fireworks) (loraRank)"),
    ({"method": {"type": "supervised", "hyperparameters": {"warmup_ratio": 0.1}}},
     "does not take warmup_ratio for supervised training; use warmup_steps"),
    ({"seed": 7}, "provider 'fw' (fireworks) does not take a seed"),
    ({"suffix": "Support_Bot"}, "'Support_Bot' may only use [a-z0-9-]"),
    ({"method": {"type": "supervised", "training_type": "full"}}, "cannot train full; it offers lora"),
    ({"method": {"type": "dpo", "hyperparameters": {"beta": 0.5}}}, "expected a number > 0 and < 0.5"),
    ({"deploy": {"serverless": True}}, "served only on a dedicated deployment"),
    ({"deploy": {"deployment": "Prod_1"}}, "is not a deployment id"),
    ({"provider_options": {"fireworks": {"outputModel": "mine"}}}, "outputModel is set by ftops from the spec"),
])
def test_what_fireworks_cannot_do_is_a_spec_error(fw, fields, message):
    fw.dataset("data/a.jsonl", 5)
    fw.spec("a", **fields)
    result = fw.run("validate")
    assert result.rc == 1 and message in result.err, result.all


def test_a_dpo_validation_file_is_refused_because_dpo_jobs_take_none(fw):
    write_jsonl(fw.root / "data/a.jsonl", dpo_rows(5))
    write_jsonl(fw.root / "data/v.jsonl", dpo_rows(3)[::-1])
    fw.spec("a", method={"type": "dpo"}, validation_file="../data/v.jsonl")
    result = fw.run("validate")
    assert result.rc == 1 and "a DPO job takes no evaluation dataset (remove validation_file)" in result.err


def test_a_dpo_spec_becomes_a_dpo_job_with_its_settings_under_training_and_loss_config(fw):
    write_jsonl(fw.root / "data/a.jsonl", dpo_rows(5))
    fw.spec("a", suffix="tone", method={"type": "dpo", "hyperparameters": {
        "n_epochs": 2, "learning_rate": 0.00002, "batch_size": 8, "warmup_steps": 5, "lora_rank": 16,
        "beta": 0.2}}, provider_options={"fireworks": {"maxContextLength": 8192}})
    applied = fw.run("apply", "--auto-approve", "--wait")
    assert applied.rc == 0, applied.all
    lock = fw.lock()["models"]["a"]
    key = LaunchKey("fwproj", "a", lock["fingerprint"]).id
    (job,) = fw.state()["jobs"]
    assert job["name"] == f"accounts/{ACCOUNT}/dpoJobs/ftops-{key}-1"
    assert job["trainingConfig"] == {"baseModel": BASE, "outputModel": f"tone-{key}-1", "epochs": 2,
                                     "learningRate": 0.00002, "batchSizeSamples": 8, "learningRateWarmupSteps": 5,
                                     "loraRank": 16, "maxContextLength": 8192}
    assert job["lossConfig"] == {"method": "DPO", "dpo": {"beta": 0.2}}
    assert job["displayName"] == "tone" and job["dataset"].startswith(f"accounts/{ACCOUNT}/datasets/ftops-")
    assert lock["model"] == f"accounts/{ACCOUNT}/models/tone-{key}-1" and "trained_model" not in lock
    assert lock["job"]["hyperparameters"] == {"batch_size": 8, "beta": 0.2, "lora_rank": 16,
                                              "learning_rate": 0.00002, "n_epochs": 2, "warmup_steps": 5}
    assert lock["location"] == {"type": "fireworks", "endpoint": fw.emu.url, "account": ACCOUNT}


def test_a_supervised_apply_reuses_the_dataset_and_plans_nothing_after(fw):
    fw.dataset("data/a.jsonl", 5)
    fw.dataset("data/v.jsonl", 3, start=50)
    fw.spec("a", validation_file="../data/v.jsonl", method={"type": "supervised", "hyperparameters": {
        "n_epochs": 3}})
    fw.spec("b", training_file="../data/a.jsonl", validation_file="../data/v.jsonl")
    plan = fw.run("plan")
    assert "serves a fine-tuned model only once it is deployed" in plan.out  # no deploy: the trained name
    assert fw.run("apply", "--auto-approve", "--wait").rc == 0
    datasets = fw.state()["datasets"]
    assert len(datasets) == 2 and all(d["uploads"] == 1 and d["state"] == "READY" for d in datasets)
    (sft_a,) = [j for j in fw.state()["jobs"] if j["displayName"] == "a"]
    assert sft_a["epochs"] == 3 and sft_a["evaluationDataset"] in {d["name"] for d in datasets}
    assert fw.run("plan", "--detailed-exitcode").rc == 0


def test_a_deploy_spec_pins_the_callable_name_only_once_it_is_deployed(fw):
    fw.dataset("data/a.jsonl", 5)
    deployment = fw.deployment("prod")
    fw.spec("a", deploy={"deployment": "prod"})
    plan = fw.run("plan")
    assert "then deploys the trained model to deployment prod" in plan.out, plan.all
    started = fw.run("apply", "--auto-approve")
    assert started.rc == 0 and fw.model("a") is None
    fw.advance(10)  # trained, not deployed yet
    recorded = fw.run("plan")
    assert "= record   a" in recorded.out
    deploying = fw.run("apply", "--auto-approve")
    assert deploying.rc == 0, deploying.all
    entry = fw.lock()["models"]["a"]
    assert entry["model"] is None and entry["pending"]["deploy"]["state"] == "deploying"
    assert "is DEPLOYING on deployment prod" in deploying.out
    fw.advance(10)
    assert fw.run("apply", "--auto-approve").rc == 0
    entry = fw.lock()["models"]["a"]
    trained = entry["trained_model"]
    assert trained.startswith(f"accounts/{ACCOUNT}/models/a-") and entry["model"] == f"{trained}#{deployment}"
    assert entry["deploy"]["target"] == {"deployment": "prod"} and entry["deploy"]["state"] == "deployed"
    assert entry["deploy"]["status"] == "DEPLOYED" and "pending" not in entry
    assert fw.run("plan", "--detailed-exitcode").rc == 0
    assert len(fw.state()["deployedModels"]) == 1


def test_with_wait_a_deploy_is_followed_and_a_second_apply_deploys_nothing(fw):
    fw.dataset("data/a.jsonl", 5)
    deployment = fw.deployment("prod")
    fw.spec("a", deploy={"deployment": deployment})
    applied = fw.run("apply", "--auto-approve", "--wait")
    assert applied.rc == 0, applied.all
    entry = fw.lock()["models"]["a"]
    assert entry["model"] == f"{entry['trained_model']}#{deployment}"
    (loaded,) = fw.state()["deployedModels"]
    assert loaded["state"] == "DEPLOYED" and loaded["model"] == entry["trained_model"]
    again = fw.run("apply", "--auto-approve", "--wait")
    assert again.rc == 0 and "Nothing to do." in again.out
    assert len(fw.state()["deployedModels"]) == 1


def test_a_deploy_that_cannot_happen_keeps_the_pin_and_is_tried_again(fw):
    fw.dataset("data/a.jsonl", 5)
    fw.spec("a", deploy={"deployment": "prod"})
    failed = fw.run("apply", "--auto-approve", "--wait")
    assert failed.rc == 1 and "Deployment 'accounts/acct-test/deployments/prod' not found" in failed.out, failed.all
    entry = fw.lock()["models"]["a"]
    assert entry["model"] is None and entry["pending"]["state"] == "succeeded"
    assert "= record   a" in fw.run("plan").out  # trained already: only the deploy is left
    deployment = fw.deployment("prod")
    assert fw.run("apply", "--auto-approve", "--wait").rc == 0
    assert fw.model("a").endswith(f"#{deployment}") and len(fw.state()["jobs"]) == 1


def test_a_new_deploy_target_deploys_the_pinned_model_without_training(fw):
    fw.dataset("data/a.jsonl", 5)
    first, second = fw.deployment("blue"), fw.deployment("green")
    fw.spec("a", deploy={"deployment": "blue"})
    assert fw.run("apply", "--auto-approve", "--wait").rc == 0
    trained = fw.lock()["models"]["a"]["trained_model"]
    fw.spec("a", deploy={"deployment": "green"})
    plan = fw.run("plan")
    assert "~ update   a" in plan.out and "deploy: deployment blue -> deployment green" in plan.out, plan.all
    assert "no training" in plan.out
    moved = fw.run("apply", "--auto-approve", "--wait")
    assert moved.rc == 0, moved.all
    entry = fw.lock()["models"]["a"]
    assert entry["model"] == f"{trained}#{second}" and entry["trained_model"] == trained
    assert len(fw.state()["jobs"]) == 1  # not trained again
    assert {d["deployment"] for d in fw.state()["deployedModels"]} == {first, second}  # ftops undeploys nothing
    fw.spec("a")
    dropped = fw.run("apply", "--auto-approve")
    assert dropped.rc == 0 and fw.model("a") == trained and "deploy" not in fw.lock()["models"]["a"]


def test_a_child_spec_continues_from_the_trained_model_not_the_deployed_name(fw):
    fw.dataset("data/parent.jsonl", 5)
    fw.dataset("data/child.jsonl", 5, start=50)
    deployment = fw.deployment("prod")
    fw.spec("parent", deploy={"deployment": "prod"})
    fw.spec("child", base_model={"spec": "parent"})
    assert fw.run("apply", "--auto-approve", "--wait").rc == 0
    lock = fw.lock()["models"]
    assert lock["parent"]["model"].endswith(f"#{deployment}")
    child = next(j for j in fw.state()["jobs"] if j["displayName"] == "child")
    assert child["warmStartFrom"] == lock["parent"]["trained_model"] and "baseModel" not in child
    assert lock["child"]["inputs"]["base_model"] == lock["parent"]["trained_model"]


def test_the_local_provider_speaking_fireworks_plans_and_applies(tmp_path):
    root = tmp_path / "proj"
    project = Project(root, None)
    project.write("ftops.yaml", "default_provider: local\nproviders:\n  local: {type: local, api: fireworks, "
                                "job_duration: 0.5}\n")
    project.dataset("data/a.jsonl", 5)
    project.spec("a", base_model=BASE, suffix="local-fw")
    plan = project.run("plan")
    assert plan.rc == 0 and "+ create   a" in plan.out, plan.all
    import time

    from ftops.cli.context import Runtime

    applied = project.run("apply", "--auto-approve", "--wait", runtime=Runtime(sleep=time.sleep, poll_interval=0.2))
    assert applied.rc == 0, applied.all
    assert project.model("a").startswith("accounts/ftops-local/models/local-fw-")
    assert project.run("plan", "--detailed-exitcode").rc == 0

