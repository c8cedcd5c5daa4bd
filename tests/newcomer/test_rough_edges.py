"""The rough edges a first real project met (issue 16), one test each. Dataset warnings under --target and the
classification checks have theirs in tests/security and tests/dataset."""

from __future__ import annotations

import pytest


def test_a_file_already_on_the_provider_is_reported_as_reused_not_uploaded(project):
    project.dataset("data/shared.jsonl", 12)
    project.spec("a", training_file="../data/shared.jsonl")
    first = project.run("apply", "--auto-approve")
    assert first.rc == 0 and "uploaded" in first.out, first.all
    project.spec("b", training_file="../data/shared.jsonl")
    second = project.run("apply", "--auto-approve")
    assert second.rc == 0, second.all
    assert "reused" in second.out and "(already on the provider)" in second.out, second.out
    assert "uploaded" not in second.out
    assert len(project.admin("GET", "state")["files"]) == 1


def test_the_seed_the_provider_chose_is_recorded_so_the_run_can_be_reproduced(project):
    project.dataset("data/a.jsonl", 12)
    project.spec("a")  # no seed: the provider picks one
    assert project.run("apply", "--auto-approve", "--wait").rc == 0
    job = project.jobs()[0]
    assert isinstance(job["seed"], int)
    assert project.lock()["models"]["a"]["job"]["seed"] == job["seed"]


def test_a_suffix_with_spaces_is_shown_in_the_plan_and_sent_with_hyphens(project):
    project.dataset("data/a.jsonl", 12)
    project.spec("a", suffix="custom model name")
    plan = project.run("plan")
    assert plan.rc == 0 and "suffix 'custom model name' is sent as 'custom-model-name'" in plan.out, plan.all
    assert project.run("apply", "--auto-approve").rc == 0
    assert project.admin("GET", "state")["core"]["jobs"][0]["suffix"] == "custom-model-name"


def test_a_provider_that_refuses_spaces_in_a_suffix_is_a_spec_error_with_its_rule(project):
    project.write("ftops.yaml", (project.root / "ftops.yaml").read_text() + (
        "  fw:\n    type: fireworks\n    account: acme\n"))
    project.dataset("data/a.jsonl", 12)
    project.spec("a", provider="fw", base_model="accounts/fireworks/models/llama-v3p1-8b-instruct",
                 suffix="custom model name")
    result = project.run("validate")
    assert result.rc == 1 and "specs/a.yaml:3: suffix:" in result.err and "[a-z0-9-]" in result.err, result.all


def test_plan_and_apply_name_the_same_providers_in_their_header(project):
    project.dataset("data/a.jsonl", 12)
    project.spec("a")
    plan = project.run("plan")
    apply = project.run("apply", "--auto-approve")
    header = "Plan made against emu (provider state refreshed)."
    assert plan.out.splitlines()[0] == header and apply.out.splitlines()[0] == header, (plan.out, apply.out)


@pytest.mark.parametrize("base, replacement", [("ada", "babbage-002"), ("babbage", "babbage-002"),
                                               ("curie", "davinci-002"), ("davinci", "davinci-002"),
                                               ("curie:ft-acme-2023-01-01-00-00-00", "davinci-002")])
def test_a_retired_legacy_base_model_fails_offline_naming_its_replacement(project, base, replacement):
    project.dataset("data/a.jsonl", 12)
    project.spec("a", base_model=base)
    for command in (("validate",), ("plan", "--no-refresh")):
        result = project.run(*command)
        assert result.rc == 1, (command, result.all)
        assert "specs/a.yaml:2: base_model:" in result.err and "can no longer be fine-tuned" in result.err
        assert replacement in result.err and "Traceback" not in result.all
    assert project.jobs() == []
