"""`ftops migrate`: specs on a provider that is closing move to another one; the edits keep comments and layout,
the plan shows the move with every hyperparameter's mapping, and apply trains there while the old pin serves."""

from __future__ import annotations

import time

import yaml

from ftops.cli.context import Runtime
from tests.conftest import TEST_KEY_ENV

SPEC = """\
# yaml-language-server: $schema=../schemas/spec.schema.json
# The support assistant. Keep this comment!
name: bot
base_model: gpt-4o-mini-2024-07-18   # the model we started from
suffix: bot
training_file: ../data/bot.jsonl
method:
  type: supervised
  hyperparameters: {n_epochs: 3, batch_size: auto}
seed: 7
---
name: bot-followups
base_model: {spec: bot}
training_file: ../data/followups.jsonl
"""


def closing_project(project) -> None:
    """Specs on `old`, a provider that stops taking jobs on 2027-01-06; `new` is the emulator (Azure's API)."""
    project.write("ftops.yaml", yaml.safe_dump({"project": "mig", "default_provider": "old", "providers": {
        "old": {"type": "local", "job_duration": 0.5, "training_cutoff": "2027-01-06"},
        "new": {"type": "azure-openai", "base_url": project.emu.url, "api_key_env": TEST_KEY_ENV}}}))
    project.dataset("data/bot.jsonl", 12)
    project.dataset("data/followups.jsonl", 12, start=30)
    project.write("specs/bot.yaml", SPEC)


def test_migrate_prints_the_edits_and_writes_them_only_when_asked(project, monkeypatch):
    monkeypatch.setenv("FTOPS_TODAY", "2026-12-01")
    closing_project(project)
    real = Runtime(sleep=time.sleep, poll_interval=0.2)
    assert project.run("apply", "--auto-approve", "--wait", runtime=real).rc == 0
    old_pin = project.model("bot")
    shown = project.run("migrate", "--to", "new")
    assert shown.rc == 0, shown.all
    assert "bot (specs/bot.yaml:3): old -> new, because old accepts new fine-tuning jobs until 2027-01-06" in shown.out
    assert "bot-followups (specs/bot.yaml:12): old -> new, because it continues from 'bot', which moves" in shown.out
    assert "method.hyperparameters.n_epochs: 3 (sent as n_epochs)" in shown.out
    assert "+provider: new" in shown.out and "est. $" in shown.out
    assert (project.root / "specs" / "bot.yaml").read_text() == SPEC  # printed only
    written = project.run("migrate", "--to", "new", "--write")
    assert written.rc == 0, written.all
    text = (project.root / "specs" / "bot.yaml").read_text()
    assert "# The support assistant. Keep this comment!" in text and "# the model we started from" in text
    assert "hyperparameters: {n_epochs: 3, batch_size: auto}" in text  # flow style kept
    assert text.count("provider: new") == 2
    plan = project.run("plan", "--detailed-exitcode")
    assert plan.rc == 2, plan.all
    assert "provider: old -> new" in plan.out and "method.hyperparameters.n_epochs: 3 -> new n_epochs" in plan.out
    applied = project.run("apply", "--auto-approve", "--wait")
    assert applied.rc == 0, applied.all
    lock = project.lock()["models"]
    assert lock["bot"]["provider"] == "new" and lock["bot"]["model"] != old_pin
    assert lock["bot-followups"]["inputs"]["base_model"] == lock["bot"]["model"]
    assert project.run("plan", "--detailed-exitcode").rc == 0
    assert "Nothing to move" in project.run("migrate", "--to", "new").out


def test_migrate_names_the_specs_that_need_a_base_model_and_takes_one(project, monkeypatch):
    monkeypatch.setenv("FTOPS_TODAY", "2026-12-01")
    closing_project(project)
    project.write("specs/bot.yaml", SPEC.replace("gpt-4o-mini-2024-07-18", "my-own-base"))
    refused = project.run("migrate", "--to", "new")
    assert refused.rc == 1 and "1 spec(s) need a base model on new: bot (my-own-base)" in refused.err
    assert "--base-model OLD=NEW" in refused.err
    mapped = project.run("migrate", "--to", "new", "--base-model", "my-own-base=gpt-4.1-mini-2025-04-14")
    assert mapped.rc == 0, mapped.all
    assert "base_model: my-own-base -> gpt-4.1-mini-2025-04-14 (--base-model)" in mapped.out
    assert "-base_model: my-own-base   # the model we started from" in mapped.out


def test_migrate_from_a_provider_moves_its_specs_even_when_nothing_is_closing(project, monkeypatch):
    monkeypatch.setenv("FTOPS_TODAY", "2026-12-01")
    closing_project(project)
    config = yaml.safe_load(project.root.joinpath("ftops.yaml").read_text())
    del config["providers"]["old"]["training_cutoff"]
    config["warn_days"] = 10  # the base model's shutdown (2027-01-14) is further away than that
    project.write("ftops.yaml", yaml.safe_dump(config))
    assert "Nothing to move" in project.run("migrate", "--to", "new").out
    moved = project.run("migrate", "--to", "new", "--from", "old", "--spec", "bot", "--write")
    assert moved.rc == 0, moved.all
    assert (project.root / "specs" / "bot.yaml").read_text().count("provider: new") == 2  # the child follows


def test_a_spec_moved_from_openai_to_together_by_migrate_applies_and_pins_a_together_model(project, tmp_path,
                                                                                         monkeypatch):
    """The January 2027 path: OpenAI stops taking jobs; `ftops migrate --to together --write`, plan, apply."""
    from ftops.emulator import EmulatorConfig, start
    from tests.conftest import bind_key

    monkeypatch.setenv("FTOPS_TODAY", "2026-12-01")
    with start(EmulatorConfig(state_dir=tmp_path / "together", api="together", job_duration=10.0)) as together:
        bind_key(monkeypatch, TEST_KEY_ENV, together.url)
        project.write("ftops.yaml", yaml.safe_dump({"project": "mig", "default_provider": "oai", "providers": {
            "oai": {"type": "local", "job_duration": 0.5, "training_cutoff": "2027-01-06"},
            "together": {"type": "together", "base_url": together.url, "api_key_env": TEST_KEY_ENV}}}))
        project.dataset("data/bot.jsonl", 12)
        project.write("specs/bot.yaml", "name: bot\nbase_model: gpt-4o-mini-2024-07-18\nsuffix: support bot\n"
                                        "training_file: ../data/bot.jsonl\nmethod:\n  type: supervised\n"
                                        "  hyperparameters: {n_epochs: 2, learning_rate_multiplier: 1.8}\n")
        moved = project.run("migrate", "--to", "together", "--write")
        assert moved.rc == 0, moved.all
        assert ("base_model: gpt-4o-mini-2024-07-18 -> meta-llama/Meta-Llama-3.1-8B-Instruct-Reference (suggested"
                in moved.out)
        assert "learning_rate_multiplier: 1.8 removed: together does not take it (it takes learning_rate" in moved.out
        assert "suffix: 'support bot' -> 'support-bot'" in moved.out
        spec = yaml.safe_load((project.root / "specs" / "bot.yaml").read_text())
        assert spec["provider"] == "together" and spec["method"]["hyperparameters"] == {"n_epochs": 2}
        plan = project.run("plan")
        assert plan.rc == 0 and "+ create   bot" in plan.out, plan.all
        applied = project.run("apply", "--auto-approve", "--wait", runtime=Runtime(
            sleep=lambda s: project.admin_of(together, "clock", {"advance": s}), poll_interval=5.0))
        assert applied.rc == 0, applied.all
        entry = project.lock()["models"]["bot"]
        assert entry["provider"] == "together"
        (job,) = project.admin_of(together, "state")["core"]["jobs"]
        assert entry["model"] == job["fine_tuned_model"] and "support-bot" in entry["model"]
