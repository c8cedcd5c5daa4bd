"""Situations from review: adoption, lost jobs and files, stale dates, protect, and projects that are not there."""

from __future__ import annotations

import httpx
import yaml

from ftops.emulator import EmulatorConfig, start
from tests.conftest import TEST_KEY, TEST_KEY_ENV, Project, bind_key


def test_two_specs_with_the_same_inputs_never_share_a_job_or_a_model(project):
    project.dataset("data/same.jsonl", 12)
    project.spec("bot-a", training_file="../data/same.jsonl", suffix="same")
    assert project.run("apply", "--auto-approve", "--wait").rc == 0
    project.spec("bot-b", training_file="../data/same.jsonl", suffix="same", metadata={"team": "b"})
    plan = project.run("plan")
    assert "+ create   bot-b" in plan.out and "adopt" not in plan.out
    assert project.run("apply", "--auto-approve", "--wait").rc == 0
    a, b = project.model("bot-a"), project.model("bot-b")
    assert a != b and len(project.jobs()) == 2
    (project.root / "specs" / "bot-a.yaml").unlink()
    assert project.run("apply", "--auto-approve", "--prune").rc == 0
    remaining = {m["id"] for m in project.admin("GET", "state")["models"]}
    assert a not in remaining and b in remaining


def train_with_three_then_two_epochs(project) -> str:
    """Train spec `a` with n_epochs 3, then replace it with n_epochs 2; return the first (now unpinned) model."""
    project.dataset("data/a.jsonl", 12)
    project.spec("a", method={"type": "supervised", "hyperparameters": {"n_epochs": 3}})
    assert project.run("apply", "--auto-approve", "--wait").rc == 0
    first = project.model("a")
    project.spec("a", method={"type": "supervised", "hyperparameters": {"n_epochs": 2}})
    assert project.run("apply", "--auto-approve", "--wait").rc == 0
    return first


def test_reverting_to_inputs_trained_before_pins_that_model_again_without_training(project):
    first = train_with_three_then_two_epochs(project)
    project.spec("a", method={"type": "supervised", "hyperparameters": {"n_epochs": 3}})
    plan = project.run("plan")
    assert "< adopt    a" in plan.out and f"its model {first} is pinned (no training)" in plan.out
    assert project.run("apply", "--auto-approve", "--wait").rc == 0
    assert project.model("a") == first and len(project.jobs()) == 2


def test_when_a_parent_is_adopted_the_plan_says_the_child_is_adopted_too_and_costs_nothing(project):
    """Reverting a parent's data to a version trained before: apply pins both old models again for free, and the
    plan must say exactly that, not "parent spec is being trained" with a cost (issue 18 item 7)."""
    project.parent_and_child()
    assert project.run("apply", "--auto-approve", "--wait").rc == 0
    parent_first, child_first = project.model("parent"), project.model("child")
    project.dataset("data/parent.jsonl", 14)
    assert project.run("apply", "--auto-approve", "--wait").rc == 0
    assert project.model("child") != child_first and len(project.jobs()) == 4

    project.dataset("data/parent.jsonl", 12)  # back to the data of the first run
    plan = project.run("plan")
    assert "< adopt    parent" in plan.out and "< adopt    child" in plan.out, plan.out
    assert f"its model {child_first} is pinned (no training)" in plan.out
    assert "being trained" not in plan.out and "est. $" not in plan.out and "Estimated training cost" not in plan.out
    assert "Plan: 2 to adopt." in plan.out
    assert project.run("apply", "--auto-approve", "--wait").rc == 0
    assert (project.model("parent"), project.model("child")) == (parent_first, child_first)
    assert len(project.jobs()) == 4  # nothing trained again


def test_reverting_to_inputs_whose_model_was_deleted_trains_anew(project):
    first = train_with_three_then_two_epochs(project)
    assert httpx.delete(f"{project.emu.url}/models/{first}",
                        headers={"authorization": f"Bearer {TEST_KEY}"}).status_code == 200
    project.spec("a", method={"type": "supervised", "hyperparameters": {"n_epochs": 3}})
    plan = project.run("plan")
    assert "~ replace  a" in plan.out and "adopt" not in plan.out
    assert project.run("apply", "--auto-approve", "--wait").rc == 0
    assert project.model("a") not in (first, None) and len(project.jobs()) == 3


def test_the_providers_shutdown_date_outranks_the_one_the_lockfile_recorded(project, monkeypatch):
    monkeypatch.setenv("FTOPS_TODAY", "2026-11-21")
    project.dataset("data/a.jsonl", 12)
    project.spec("a")
    assert project.run("apply", "--auto-approve", "--wait").rc == 0
    assert project.lock()["models"]["a"]["model_shutdown_date"] == "2027-01-14"
    project.admin("POST", "models", {"id": "gpt-4o-mini-2024-07-18", "shutdown_date": "2026-11-01"})
    plan = project.run("plan", "--detailed-exitcode")
    assert plan.rc == 1 and "shut down on 2026-11-01 (20 days ago)" in plan.out
    offline = project.run("plan", "--no-refresh")  # without asking, the lockfile's date is all we know
    assert "shuts down on 2027-01-14" in offline.out


def test_protect_set_while_a_job_runs_survives_the_record(project):
    project.dataset("data/a.jsonl", 12)
    project.spec("a")
    assert project.run("apply", "--auto-approve").rc == 0
    project.spec("a", protect=True)
    project.finish_jobs()
    plan = project.run("plan")
    assert "= record   a" in plan.out and "protect: false -> true" in plan.out
    assert project.run("apply", "--auto-approve").rc == 0
    assert project.lock()["models"]["a"]["protect"] is True
    (project.root / "specs" / "a.yaml").unlink()
    pruned = project.run("apply", "--auto-approve", "--prune")
    assert pruned.rc == 0 and "(protected)" in pruned.out
    assert project.model("a") is None and any(m["id"] for m in project.admin("GET", "state")["models"])


def test_a_provider_that_lost_the_job_and_the_files_is_retried_and_converges(project, tmp_path, monkeypatch):
    project.dataset("data/a.jsonl", 12)
    project.spec("a")
    assert project.run("apply", "--auto-approve").rc == 0
    lost_job = project.lock()["models"]["a"]["pending"]["job_id"]
    with start(EmulatorConfig(state_dir=tmp_path / "fresh-provider", job_duration=10.0)) as fresh:
        bind_key(monkeypatch, TEST_KEY_ENV, fresh.url)
        config = yaml.safe_load((project.root / "ftops.yaml").read_text())
        config["providers"]["emu"]["base_url"] = fresh.url
        (project.root / "ftops.yaml").write_text(yaml.safe_dump(config))
        other = Project(project.root, fresh)
        plan = other.run("plan", "--detailed-exitcode")
        assert plan.rc == 2 and f"job {lost_job} no longer exists on emu" in plan.out
        applied = other.run("apply", "--auto-approve", "--wait")
        assert applied.rc == 0, applied.all
        assert "no longer has file-" in applied.out and "uploading again" in applied.out
        assert other.model("a").startswith("ft:") and other.run("plan", "--detailed-exitcode").rc == 0


def test_removing_a_spec_and_its_provider_forgets_instead_of_crashing(project, monkeypatch):
    monkeypatch.setenv("OTHER_KEY", "x")
    project.write("ftops.yaml", f"default_provider: emu\nproviders:\n  emu: {{type: openai, base_url: "
                                f"'{project.emu.url}', api_key_env: {TEST_KEY_ENV}}}\n")
    project.dataset("data/a.jsonl", 12)
    project.dataset("data/b.jsonl", 12, start=40)
    project.spec("a")
    project.spec("b")
    assert project.run("apply", "--auto-approve", "--wait").rc == 0
    lock = project.lock()
    lock["models"]["b"]["provider"] = "gone"
    (project.root / "ftops.lock").write_text(yaml.safe_dump(lock))
    (project.root / "specs" / "b.yaml").unlink()
    result = project.run("apply", "--auto-approve", "--prune")
    assert result.rc == 0, result.all
    assert "its provider 'gone' is no longer in ftops.yaml, so it cannot be deleted" in result.out
    assert "b" not in project.lock()["models"]


def test_targeting_a_child_includes_the_parent_it_needs(project):
    project.parent_and_child()
    plan = project.run("plan", "--target", "child")
    assert "create   parent" in plan.out and "--target child includes its parent 'parent'" in plan.out
    assert project.run("apply", "--auto-approve", "--wait", "--target", "child").rc == 0
    assert project.model("child").startswith("ft:") and project.model("parent").startswith("ft:")


def test_a_mistyped_directory_is_an_error_not_no_changes(project, tmp_path):
    missing = project.run("-C", str(tmp_path / "typo"), "plan", "--detailed-exitcode")
    assert missing.rc == 1 and "is not a directory" in missing.err
    empty = tmp_path / "empty"
    empty.mkdir()
    for command in (("plan", "--detailed-exitcode"), ("apply", "--auto-approve"), ("status",)):
        result = project.run("-C", str(empty), *command)
        assert result.rc == 1 and "is not an ftops project" in result.err, command
    assert not (empty / ".ftops").exists()


def test_keys_go_only_where_trusted_configuration_binds_them_and_only_over_tls(project, monkeypatch):
    project.dataset("data/a.jsonl", 12)
    project.spec("a", provider="gw")
    monkeypatch.setenv("OPENAI_API_KEY", "fake-key-not-for-the-gateway")
    project.write("ftops.yaml", "providers:\n  gw: {type: openai, base_url: 'https://gateway.example/v1'}\n")
    result = project.run("plan")
    assert result.rc == 0, result.all  # planned without that provider, and said why
    assert "WARNING gw was not contacted: provider 'gw': no trusted configuration binds OPENAI_API_KEY to " \
           "https://gateway.example" in result.out
    refused = project.run("apply", "--auto-approve")
    assert refused.rc == 1 and "could not be contacted with trusted credentials" in refused.err
    project.write("ftops.yaml", "providers:\n  gw: {type: openai, base_url: 'http://gateway.example/v1', "
                                "api_key_env: GW_KEY}\n")
    result = project.run("plan", "--no-refresh")
    assert result.rc == 1 and "plain http:// to gateway.example" in result.err


def test_a_bad_ftops_today_is_a_user_error(project, monkeypatch):
    project.dataset("data/a.jsonl", 12)
    project.spec("a")
    monkeypatch.setenv("FTOPS_TODAY", "tomorrow")
    result = project.run("plan", "--no-refresh")
    assert result.rc == 1 and "FTOPS_TODAY='tomorrow' is not a date" in result.err


def test_a_saved_plan_refuses_target_and_prune_on_apply(project, tmp_path):
    project.dataset("data/a.jsonl", 12)
    project.dataset("data/b.jsonl", 12, start=40)
    project.spec("a")
    project.spec("b")
    saved = tmp_path / "plan.json"
    assert project.run("plan", "--out", str(saved)).rc == 0
    result = project.run("apply", str(saved), "--auto-approve", "--target", "a")
    assert result.rc == 1 and "drop --target/--prune" in result.err
    assert project.jobs() == []
