"""Azure OpenAI end to end through the CLI against the emulator's azure dialect: a spec with ``deploy:`` is trained,
deployed (an ARM deployment, with the Entra token) and the deployment's name is pinned; a replacement serves at
every moment (the pinned deployment exists and is provisioned at every poll round); --prune removes the deployments
of superseded models; a model with a live deployment cannot be deleted (the provider's message); the plan shows
the hourly hosting cost and warns about a deployment Azure stops serving; deploy errors keep the pin."""

from __future__ import annotations

import json
import re

import pytest

from ftops.cli.context import Runtime
from ftops.providers.azure_openai.deployments import deployment_name
from tests.azure.conftest import BASE, TOKEN
from tests.conftest import TEST_KEY

DEPLOY = {"name": "support", "sku": "standard", "capacity": 1}


def _applied(az, *args: str, runtime: Runtime | None = None):
    result = az.run("apply", "--auto-approve", *args, runtime=runtime)
    assert result.rc == 0, result.all
    return result


def test_a_deploy_spec_is_trained_deployed_and_pins_the_deployment_name(az):
    az.dataset("data/a.jsonl", 12)
    az.spec("a", deploy=DEPLOY)
    plan = az.run("plan")
    assert plan.rc == 0, plan.all
    assert "then deploys the trained model to deployment support (capacity 1, sku standard)" in plan.out, plan.all
    assert "hosting: $1.70/hour (about $1,241.00 a month) while the deployment exists, called or not" in plan.out
    applied = _applied(az, "--wait")
    entry = az.entry("a")
    (job,) = az.admin("GET", "state")["jobs"]
    trained = job["fine_tuned_model"]
    assert trained.startswith(f"{BASE}.ft-") and entry["trained_model"] == trained
    assert entry["model"] == deployment_name("support", trained) and f"pinned {entry['model']}" in applied.out
    deployed = az.deployments()[entry["model"]]
    assert deployed["properties"]["provisioningState"] == "Succeeded"
    assert deployed["properties"]["model"]["name"] == trained
    assert deployed["sku"] == {"name": "Standard", "capacity": 1}
    assert entry["deploy"]["target"] == DEPLOY and entry["deploy"]["state"] == "deployed"
    assert entry["deploy"]["id"].endswith(f"/deployments/{entry['model']}")
    assert entry["location"] == {"type": "azure-openai", "endpoint": az.emu.url, "account": "acct-ft"}
    again = az.run("plan", "--detailed-exitcode")
    assert again.rc == 0, again.all


def test_inference_names_a_deployment_never_a_model(az):
    """Azure's data plane takes a deployment's name as ``model``: the trained model's own name is not callable
    (404 DeploymentNotFound, as Azure answers), the pinned deployment is (driven by the official SDK)."""
    import openai

    az.dataset("data/a.jsonl", 12)
    az.spec("a", deploy=DEPLOY)
    _applied(az, "--wait")
    entry = az.entry("a")
    client = openai.OpenAI(base_url=az.emu.url, api_key=TEST_KEY, max_retries=0)
    messages = [{"role": "user", "content": "hello"}]
    with pytest.raises(openai.NotFoundError) as refused:
        client.chat.completions.create(model=entry["trained_model"], messages=messages)
    assert refused.value.code == "DeploymentNotFound" and refused.value.response.headers.get("x-request-id")
    answer = client.chat.completions.create(model=entry["model"], messages=messages)
    assert answer.model == entry["trained_model"] and answer.choices[0].message.content


def test_without_wait_the_pin_moves_once_the_deployment_is_provisioned(az):
    az.dataset("data/a.jsonl", 12)
    az.spec("a", deploy=DEPLOY)
    _applied(az)
    az.advance(10)  # trained; the deployment is created by the next apply and provisions for 30 s
    deploying = _applied(az)
    assert "is Creating on deployment support" in deploying.out, deploying.all
    entry = az.entry("a")
    assert entry["model"] is None and entry["pending"]["deploy"]["status"] == "Creating"
    assert "= record   a" in az.run("plan").out
    az.advance(30)
    _applied(az)
    assert az.model("a") == deployment_name("support", az.entry("a")["trained_model"])
    assert len(az.deployments()) == 1  # asked again, the same deployment: never a second one


def test_a_replacement_keeps_serving_throughout_and_prune_removes_the_old_deployment(az):
    az.dataset("data/a.jsonl", 12)
    az.spec("a", deploy=DEPLOY)
    _applied(az, "--wait")
    old = az.model("a")
    rounds: list[str] = []

    def serving_then_sleep(seconds: float) -> None:
        """Every poll round: the deployment ftops.lock pins exists and is provisioned; then time passes."""
        pinned = az.model("a")
        deployment = az.deployments().get(pinned)
        assert deployment is not None, f"the pinned deployment {pinned} does not exist"
        assert deployment["properties"]["provisioningState"] == "Succeeded", deployment
        rounds.append(pinned)
        az.advance(seconds)

    az.dataset("data/a.jsonl", 14)
    replaced = _applied(az, "--wait", runtime=Runtime(sleep=serving_then_sleep, poll_interval=5.0))
    new = az.model("a")
    assert new != old and rounds and set(rounds) == {old}  # the old one served until the new one was pinned
    assert az.deployments()[new]["properties"]["provisioningState"] == "Succeeded"
    assert old in az.deployments(), replaced.all  # the old deployment is removed only with --prune
    assert [d["model"] for d in az.entry("a")["deploy"]["superseded"]] == [old]

    plan = az.run("plan")
    assert f"deployment(s) of models this spec no longer pins still exist: {old} (billed $1.70/hour" in plan.out
    pruning = az.run("plan", "--prune")
    assert "~ update   a" in pruning.out and f"--prune removes the deployment(s) of models this spec no " \
        f"longer pins: {old}" in pruning.out, pruning.all
    pruned = _applied(az, "--prune")
    assert f"removed deployment {old}" in pruned.out
    assert set(az.deployments()) == {new} and "superseded" not in az.entry("a")["deploy"]
    assert az.model("a") == new and az.run("plan", "--prune", "--detailed-exitcode").rc == 0


def test_with_prune_a_replacement_removes_the_old_deployment_after_the_new_one_is_pinned(az):
    az.dataset("data/a.jsonl", 12)
    az.spec("a", deploy=DEPLOY)
    _applied(az, "--wait")
    old = az.model("a")
    seen: list[str] = []

    def serving_then_sleep(seconds: float) -> None:
        pinned = az.model("a")
        assert az.deployments()[pinned]["properties"]["provisioningState"] == "Succeeded"
        seen.append(pinned)
        az.advance(seconds)

    az.dataset("data/a.jsonl", 14)
    plan = az.run("plan", "--prune")
    assert f"its old deployment {old} is removed" in plan.out, plan.all
    applied = _applied(az, "--wait", "--prune", runtime=Runtime(sleep=serving_then_sleep, poll_interval=5.0))
    new = az.model("a")
    assert new != old and set(seen) == {old}
    assert set(az.deployments()) == {new}, applied.all
    assert applied.out.index(f"pinned {new}") < applied.out.index(f"removed deployment {old}")


def test_a_deployed_model_cannot_be_deleted_and_the_provider_says_why(az):
    az.dataset("data/a.jsonl", 12)
    az.spec("a", deploy=DEPLOY)
    _applied(az, "--wait")
    trained = az.entry("a")["trained_model"]
    manual = az.arm("PUT", "by-hand", {"sku": {"name": "Standard", "capacity": 1},
                                       "properties": {"model": {"format": "OpenAI", "name": trained,
                                                                "version": "1"}}})
    assert manual.status_code == 201, manual.text  # someone deployed it outside ftops too
    (az.root / "specs" / "a.yaml").unlink()
    plan = az.run("plan", "--prune")
    assert f"after removing its deployment(s) {az.model('a')}" in plan.out, plan.all
    refused = az.run("apply", "--auto-approve", "--prune")
    assert refused.rc == 1, refused.all
    assert f"Cannot delete model {trained}: it has 1 deployment(s) (by-hand). Delete the deployment(s) first." \
        in refused.out
    assert set(az.deployments()) == {"by-hand"}  # ftops removed its own deployment, nobody else's
    assert az.entry("a")["model"] == trained and "deploy" not in az.entry("a")  # what is left is said as it is
    assert az.arm("DELETE", "by-hand").status_code == 200
    _applied(az, "--prune")
    assert az.lock()["models"] == {} and trained not in az.admin("GET", "state")["core"]["models"]


def test_a_failed_deployment_keeps_the_pin_and_is_tried_again(az):
    az.dataset("data/a.jsonl", 12)
    az.spec("a", deploy=DEPLOY)
    az.admin("POST", "deployments/fail-next", {})
    failed = az.run("apply", "--auto-approve", "--wait")
    assert failed.rc == 1 and "Failed: Azure reports the deployment's provisioning as Failed" in failed.out, failed.all
    assert az.model("a") is None and az.entry("a")["pending"]["deploy"]["state"] == "failed"
    assert "= record   a" in az.run("plan").out  # trained already: only the deploy is left
    _applied(az, "--wait")
    assert az.model("a") and len(az.admin("GET", "state")["jobs"]) == 1


def test_a_deployment_over_the_quota_is_refused_in_arms_words(az):
    az.dataset("data/a.jsonl", 12)
    az.spec("a", deploy={**DEPLOY, "capacity": 60})
    failed = az.run("apply", "--auto-approve", "--wait")
    assert failed.rc == 1 and "which is more than the 50 available" in failed.out, failed.all
    assert az.deployments() == {}


def test_a_new_sku_updates_the_deployment_in_place_and_the_pin_stays(az):
    az.dataset("data/a.jsonl", 12)
    az.spec("a", deploy=DEPLOY)
    _applied(az, "--wait")
    pinned = az.model("a")
    az.spec("a", deploy={**DEPLOY, "sku": "globalstandard", "capacity": 2})
    plan = az.run("plan")
    assert "~ update   a" in plan.out and "deployment support (capacity 2, sku globalstandard)" in plan.out
    _applied(az, "--wait")
    assert az.model("a") == pinned and az.deployments()[pinned]["sku"] == {"name": "GlobalStandard", "capacity": 2}
    assert len(az.admin("GET", "state")["jobs"]) == 1


def test_the_plan_shows_an_overridden_hourly_rate_and_warns_when_azure_stops_serving(az):
    az.provider(hosting_usd_per_hour={"standard": 2.5})
    az.write("ftops.yaml", az.root.joinpath("ftops.yaml").read_text() + "warn_days: 400\n")
    az.dataset("data/a.jsonl", 12)
    az.spec("a", deploy=DEPLOY)
    result = az.run("plan", "--format", "json")
    document = json.loads(result.out)
    (action,) = document["actions"]
    assert action["hourly_usd"] == 2.5
    (notice,) = [n for n in document["notices"] if "deployed fine-tunes" in n["message"]]
    assert notice["level"] == "warning" and notice["date"] == "2027-10-14"
    assert f"stops serving deployed fine-tunes of {BASE} on 2027-10-14" in notice["message"]


def test_a_continued_dpo_child_is_deployed_too(az):
    az.dataset("data/parent.jsonl", 12)
    rows = [{"input": {"messages": [{"role": "user", "content": f"q {i}?"}]},
             "preferred_output": [{"role": "assistant", "content": f"good {i}"}],
             "non_preferred_output": [{"role": "assistant", "content": f"bad {i}"}]} for i in range(12)]
    az.write("data/child.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    az.spec("parent", deploy={"name": "parent"})
    az.spec("child", base_model={"spec": "parent"}, method={"type": "dpo", "hyperparameters": {"beta": 0.2}},
            deploy={"name": "child"})
    _applied(az, "--wait")
    parent, child = az.entry("parent"), az.entry("child")
    assert child["inputs"]["base_model"] == parent["trained_model"]  # trained from the model, not the deployment
    assert child["job"]["hyperparameters"]["beta"] == 0.2
    assert set(az.deployments()) == {parent["model"], child["model"]}


@pytest.mark.parametrize("deploy, message", [
    ({"deployment": "prod"}, "unknown key 'deployment' (deploy on provider 'az' (azure-openai))"),
    ({"name": "x"}, "does not match"),
    ({"name": "bot", "sku": "provisioned"}, "is not one of ['standard', 'globalstandard', 'developer']"),
    ({"sku": "standard"}, "'name' is a required property"),
])
def test_an_azure_deploy_block_is_checked_against_azures_own_keys(az, deploy, message):
    az.dataset("data/a.jsonl", 12)
    az.spec("a", deploy=deploy)
    result = az.run("validate")
    assert result.rc == 1 and message in result.all, result.all


def test_a_deploy_needs_the_resource_where_deployments_live(az):
    az.provider(subscription=None, resource_group=None, account=None)
    az.dataset("data/a.jsonl", 12)
    az.spec("a", deploy=DEPLOY)
    result = az.run("validate")
    assert result.rc == 1 and "deploying needs subscription, resource_group and account" in result.all


def test_the_management_token_goes_only_where_trusted_configuration_binds_it(az):
    az.dataset("data/a.jsonl", 12)
    az.spec("a", deploy=DEPLOY)
    az.bind.pop("AZURE_ACCESS_TOKEN")  # a pull request pointed management_url somewhere: nobody bound it
    plan = az.run("plan")
    assert plan.rc == 0 and "no trusted configuration binds AZURE_ACCESS_TOKEN to " + az.emu.origin in plan.out
    applied = az.run("apply", "--auto-approve")
    assert applied.rc == 1 and "not contacted" in applied.all, applied.all
    assert az.admin("GET", "faults")["requests"] == 0  # neither the data plane nor ARM was asked anything


def test_the_deployment_name_is_unique_per_model_and_at_most_64_characters():
    long = "n" * 55
    first, second = deployment_name(long, f"{BASE}.ft-{'a' * 32}"), deployment_name(long, f"{BASE}.ft-{'b' * 32}")
    assert first != second and len(first) == 64 and re.fullmatch(rf"{long}-[0-9a-f]{{8}}", first)


def test_the_arm_api_wants_a_bearer_token_not_the_api_key(az):
    import httpx

    from tests.azure.conftest import ARM

    refused = httpx.get(f"{az.emu.origin}{ARM}", params={"api-version": "2024-10-21"}, headers={"api-key": "k"})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "AuthenticationFailed"
    no_version = httpx.get(f"{az.emu.origin}{ARM}", headers={"authorization": f"Bearer {TOKEN}"})
    assert no_version.status_code == 400 and no_version.json()["error"]["code"] == "MissingApiVersionParameter"
    missing = az.arm("GET", "nothing-here")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "DeploymentNotFound"
    assert az.arm("GET").json() == {"value": []}
