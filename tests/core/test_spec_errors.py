"""Broken specs and configs: every problem names the file, line and key, all at once, and nothing is lost."""

from __future__ import annotations

import os

from tests.conftest import bind_key


def test_all_spec_errors_are_reported_at_once_with_file_line_and_key(project):
    project.dataset("data/a.jsonl", 12)
    project.write("specs/bad.yaml", """\
name: bad
base_model: gpt-4o-mini-2024-07-18
training_file: ../data/a.jsonl
method:
  type: supervised
  hyperparameters:
    n_epochs: 99
    learnin_rate: 2
suffx: oops
""")
    project.write("specs/worse.yaml", """\
name: worse
base_model: gpt-4o-mini-2024-07-18
training_file: ../data/missing.jsonl
seed: -1
""")
    result = project.run("validate")
    assert result.rc == 1
    err = result.err
    assert "specs/bad.yaml:9: suffx: unknown key 'suffx'" in err
    assert "specs/bad.yaml:8: method.hyperparameters.learnin_rate: unknown key 'learnin_rate'" in err
    assert "specs/bad.yaml:7: method.hyperparameters.n_epochs:" in err
    assert "specs/worse.yaml:4: seed:" in err
    assert "Traceback" not in result.all
    again = project.run("validate")  # only valid documents are remembered as valid: the errors come back
    assert again.rc == 1 and again.err == err


def test_missing_dataset_names_the_spec_line(project):
    project.write("specs/a.yaml", "name: a\nbase_model: gpt-4o-mini-2024-07-18\ntraining_file: nope.jsonl\n")
    result = project.run("plan")
    assert result.rc == 1
    assert "specs/a.yaml:3: training_file: file not found: specs/nope.jsonl" in result.err


def test_yaml_syntax_error_names_the_line(project):
    project.write("specs/a.yaml", "name: a\nbase_model: [unclosed\ntraining_file: x\n")
    result = project.run("validate")
    assert result.rc == 1 and "specs/a.yaml:" in result.err and "YAML syntax" in result.err


def test_duplicate_names_and_cycles_are_rejected(project):
    project.dataset("data/a.jsonl", 12)
    common = "training_file: ../data/a.jsonl\n"
    project.write("specs/one.yaml", "name: a\nbase_model: {spec: b}\n" + common + "---\nname: b\nbase_model: {spec: a}\n"
                  + common)
    project.write("specs/two.yaml", "name: a\nbase_model: gpt-4o-mini-2024-07-18\n" + common)
    result = project.run("validate")
    assert result.rc == 1
    assert "duplicate spec name 'a' (first defined at specs/one.yaml:1)" in result.err
    assert "form a cycle: a -> b -> a" in result.err or "form a cycle: b -> a -> b" in result.err


def test_unknown_parent_and_unknown_provider(project):
    project.dataset("data/a.jsonl", 12)
    project.write("specs/a.yaml", "name: a\nbase_model: {spec: ghost}\nprovider: nowhere\ntraining_file: ../data/a.jsonl\n")
    result = project.run("validate")
    assert "specs/a.yaml:3: provider: unknown provider 'nowhere'" in result.err
    result = project.run("validate")
    assert result.rc == 1


def test_dataset_path_outside_the_project_is_refused(project, tmp_path):
    outside = tmp_path / "outside.jsonl"
    outside.write_text("{}\n")
    project.write("specs/a.yaml", f"name: a\nbase_model: gpt-4o-mini-2024-07-18\ntraining_file: {outside}\n")
    result = project.run("validate")
    assert result.rc == 1 and "resolves outside the project" in result.err
    os.symlink(outside, project.root / "link.jsonl")
    project.write("specs/a.yaml", "name: a\nbase_model: gpt-4o-mini-2024-07-18\ntraining_file: ../link.jsonl\n")
    assert "resolves outside the project" in project.run("validate").err


def test_broken_config_names_the_key(project):
    project.write("ftops.yaml", "default_provider: local\nprovders: {}\n")
    result = project.run("plan")
    assert result.rc == 1 and "ftops.yaml:2: provders: unknown key 'provders'" in result.err


def test_corrupt_lockfile_is_a_user_error_not_a_crash(project):
    project.dataset("data/a.jsonl", 12)
    project.spec("a")
    project.write("ftops.lock", "version: 1\nmodels:\n  a: {provider: emu, model: 3, extra: 1}\n")
    result = project.run("plan")
    assert result.rc == 1 and "ftops.lock" in result.err and "restore it from git" in result.err
    project.write("ftops.lock", "version: 7\nmodels: {}\n")
    assert "this ftops reads versions 1, 2" in project.run("plan").err


def test_missing_api_key_says_which_variable_and_offers_no_refresh(project, monkeypatch):
    project.dataset("data/a.jsonl", 12)
    project.spec("a")
    monkeypatch.delenv("FTOPS_TEST_KEY")
    result = project.run("plan")
    assert result.rc == 1 and "set the FTOPS_TEST_KEY environment variable" in result.err
    offline = project.run("plan", "--no-refresh", "--detailed-exitcode")
    assert offline.rc == 2 and "create   a" in offline.out


def test_unknown_base_model_fails_the_plan_before_anything_is_uploaded(project):
    project.dataset("data/a.jsonl", 12)
    project.spec("a", base_model="no-such-model-xyz")
    result = project.run("apply", "--auto-approve")
    assert result.rc == 1
    assert "base model no-such-model-xyz is not offered by emu" in result.out
    assert project.admin("GET", "state")["files"] == []


def test_provider_error_shows_message_and_request_id_but_never_the_key(project, tmp_path, monkeypatch):
    from ftops.emulator import EmulatorConfig, start

    with start(EmulatorConfig(state_dir=tmp_path / "strict", api_key="the-right-key")) as strict:
        project.write("ftops.yaml", f"default_provider: strict\nproviders:\n  strict: {{type: openai, base_url: "
                                    f"'{strict.url}', api_key_env: WRONG_KEY}}\n")
        monkeypatch.setenv("WRONG_KEY", "wrong-key-1234567890")
        bind_key(monkeypatch, "WRONG_KEY", strict.url)
        project.dataset("data/a.jsonl", 12)
        project.spec("a")
        result = project.run("plan")
    assert result.rc == 1
    assert "strict: " in result.err and "status=401" in result.err and "request_id=req_" in result.err
    assert "wrong-key-1234567890" not in result.all
    assert "Traceback" not in result.all


def test_azure_suffix_limits_are_checked_before_anything_is_spent(project, monkeypatch):
    monkeypatch.setenv("AZ_KEY", "azure-test-key")
    project.write("ftops.yaml", "default_provider: az\nproviders:\n  az: {type: azure-openai, base_url: "
                                "'https://example.invalid/openai/v1', api_key_env: AZ_KEY}\n")
    project.dataset("data/a.jsonl", 12)
    project.spec("a", suffix="x" * 41)
    result = project.run("plan", "--no-refresh")
    assert result.rc == 1
    assert "specs/a.yaml:3: suffix: is 41 characters; provider 'az' (azure-openai) allows at most 40" in result.err
    project.spec("a", suffix="has/slash")
    assert "may only use [A-Za-z0-9_-] on provider 'az'" in project.run("plan", "--no-refresh").err


def test_validation_file_sharing_examples_with_training_stops_the_plan(project):
    project.dataset("data/a.jsonl", 14)
    project.dataset("data/v.jsonl", 3)  # the first three training examples again
    project.spec("a", validation_file="../data/v.jsonl")
    result = project.run("plan")
    assert result.rc == 1
    assert "[train_validation_overlap] 3 example(s)" in result.err
    assert project.jobs() == []
