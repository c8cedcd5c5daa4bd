"""The `together` provider type through the CLI, against the emulator's together dialect: what a spec may say on
Together (and the errors when it says what Together cannot do), the exact request each spec becomes (as the
emulator recorded it), the launch key in the suffix, adoption after an interrupted apply, continuing from a parent's
model, the W&B key, and `type: local, api: together`."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import yaml

from ftops.emulator import EmulatorConfig, start
from ftops.launch import LaunchKey
from tests.conftest import TEST_KEY_ENV, Project, chat_example, write_jsonl

LLAMA = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
LORA_ONLY = "Qwen/Qwen3.5-35B-A3B"


class TogetherProject(Project):
    def core(self) -> dict:
        return self.admin("GET", "state")["core"]

    def requests(self) -> list[dict]:
        """Each job's create body as the emulator recorded it (without a W&B key)."""
        return [j["extra"]["request"] for j in self.core()["jobs"]]

    def file_id(self, name: str, role: str = "training_file") -> str:
        return self.lock()["models"][name]["inputs"][role]["file_ids"]["tg"]

    def key(self, name: str) -> LaunchKey:
        entry = self.lock()["models"][name]
        return LaunchKey("tgproj", name, (entry.get("pending") or entry)["fingerprint"])


@pytest.fixture
def project(tmp_path):
    emu = start(EmulatorConfig(state_dir=tmp_path / "emulator", api="together", job_duration=10.0))
    root = tmp_path / "proj"
    root.mkdir()
    proj = TogetherProject(root, emu, bind={TEST_KEY_ENV: emu.url})
    proj.write("ftops.yaml", yaml.safe_dump({"project": "tgproj", "default_provider": "tg", "providers": {
        "tg": {"type": "together", "base_url": emu.url, "api_key_env": TEST_KEY_ENV}}}))
    try:
        yield proj
    finally:
        emu.stop()


def dpo_rows(n: int) -> list[dict]:
    return [{"input": {"messages": [{"role": "user", "content": f"What is {i} plus {i}?"}]},
             "preferred_output": [{"role": "assistant", "content": f"{2 * i}."}],
             "non_preferred_output": [{"role": "assistant", "content": "No idea."}]} for i in range(n)]


def test_a_learning_rate_multiplier_is_a_spec_error_naming_the_field_and_what_together_takes(project):
    project.dataset("data/a.jsonl", 12)
    project.spec("a", base_model=LLAMA, method={"type": "supervised",
                                                "hyperparameters": {"learning_rate_multiplier": 2.0}})
    result = project.run("plan")
    assert result.rc == 1
    assert ("specs/a.yaml:8: method.hyperparameters.learning_rate_multiplier: provider 'tg' (together) does not take "
            "learning_rate_multiplier for supervised training; use learning_rate (an absolute rate; a multiplier is "
            "never converted) (it takes: n_epochs, batch_size, learning_rate, warmup_ratio, lora_rank, lora_alpha, "
            "lora_dropout)") in result.err, result.all
    assert project.core()["files"] == [] and project.core()["jobs"] == []


def test_what_together_cannot_train_is_refused_before_anything_is_spent(project):
    project.dataset("data/a.jsonl", 12)
    project.spec("a", base_model=LORA_ONLY, method={"type": "supervised", "training_type": "full"},
                 suffix="x" * 32)
    result = project.run("plan")
    assert result.rc == 1
    assert ("suffix: is 32 characters; provider 'tg' (together) allows at most 31 (40 minus the 9 characters of the "
            "launch key ftops appends)") in result.err, result.all
    assert f"method.training_type: provider 'tg' (together) trains {LORA_ONLY} with lora only, not full" in result.err
    project.spec("a", base_model="Qwen/Qwen3-8B", method={"type": "reinforcement", "grader": {"type": "python"}})
    result = project.run("plan")
    assert "provider 'tg' (together) does not offer the reinforcement method; it offers supervised, dpo" in result.err
    project.spec("a", base_model="Qwen/Qwen3-8B")
    assert ("base_model: Qwen/Qwen3-8B can no longer be fine-tuned on provider 'tg' (together) (removed from "
            "fine-tuning on 2026-07-29); pick another base model it offers") in project.run("plan").err
    assert project.core()["files"] == [] and project.core()["jobs"] == []


def test_lora_sft_with_every_setting_becomes_exactly_this_request(project):
    project.dataset("data/a.jsonl", 16)
    project.dataset("data/v.jsonl", 10, start=100)
    project.spec("a", base_model=LLAMA, suffix="support bot", validation_file="../data/v.jsonl", seed=7,
                 method={"type": "supervised", "training_type": "lora", "hyperparameters": {
                     "n_epochs": 2, "batch_size": 8, "learning_rate": 2e-5, "warmup_ratio": 0.1, "lora_rank": 16,
                     "lora_alpha": 32, "lora_dropout": 0.05}},
                 integrations=[{"type": "wandb", "wandb": {"project": "bots", "name": "run-1", "entity": "acme"}}],
                 metadata={"team": "support"})
    applied = project.run("apply", "--auto-approve", "--wait")
    assert applied.rc == 0, applied.all
    assert project.requests() == [{
        "model": LLAMA, "training_file": project.file_id("a"),
        "validation_file": project.file_id("a", "validation_file"),
        "n_epochs": 2, "batch_size": 8, "learning_rate": 2e-5, "warmup_ratio": 0.1,
        "training_method": {"method": "sft", "train_on_inputs": "auto"},
        "training_type": {"type": "Lora", "lora_r": 16, "lora_alpha": 32, "lora_dropout": 0.05},
        "random_seed": 7, "suffix": f"support-bot-{project.key('a').short}",
        "wandb_project_name": "bots", "wandb_name": "run-1", "wandb_entity": "acme"}]
    pinned = project.model("a")
    assert pinned.startswith(f"ftops-local/Meta-Llama-3.1-8B-Instruct-Reference-support-bot-{project.key('a').short}-")
    assert project.lock()["models"]["a"]["job"]["hyperparameters"]["lora_r"] == 16
    assert project.run("plan", "--detailed-exitcode").rc == 0


@pytest.mark.parametrize("method, training_type", [
    ({"type": "dpo", "training_type": "full", "hyperparameters": {"beta": 0.3}},
     {"training_method": {"method": "dpo", "dpo_beta": 0.3}, "training_type": {"type": "Full"}}),
    ({"type": "dpo", "training_type": "lora"},
     {"training_method": {"method": "dpo"}, "training_type": {"type": "Lora", "lora_r": 64, "lora_alpha": 128}}),
    ({"type": "supervised"}, {"training_method": {"method": "sft", "train_on_inputs": "auto"}}),
])
def test_full_and_lora_and_dpo_map_to_togethers_fields_and_saying_nothing_lets_together_pick(project, method,
                                                                                             training_type):
    rows = dpo_rows(12) if method["type"] == "dpo" else [chat_example(i) for i in range(12)]
    write_jsonl(project.root / "data" / "a.jsonl", rows)
    project.write("specs/a.yaml", yaml.safe_dump({"name": "a", "base_model": LLAMA, "training_file": "../data/a.jsonl",
                                                  "method": method}))
    applied = project.run("apply", "--auto-approve", "--wait")
    assert applied.rc == 0, applied.all
    assert project.requests() == [{"model": LLAMA, "training_file": project.file_id("a"), **training_type,
                                   "suffix": f"ftops-{project.key('a').short}"}]  # no suffix in the spec
    assert project.core()["jobs"][0]["phase"] == "succeeded"


def test_the_suffix_carries_the_launch_key_and_an_interrupted_apply_adopts_the_job(project):
    project.dataset("data/a.jsonl", 12)
    project.spec("a", base_model=LLAMA, suffix="s" * 31)
    started = project.run("apply", "--auto-approve")
    assert started.rc == 0, started.all
    key = project.key("a")
    (job,) = project.core()["jobs"]
    assert job["suffix"] == "s" * 31 + "-" + key.short and len(job["suffix"]) == 40
    (project.root / "ftops.lock").unlink()  # as if the apply had died before writing anything down

    plan = project.run("plan")  # refresh indexes the job by the 8 characters its suffix carries
    assert "< adopt    a" in plan.out and job["id"] in plan.out, plan.all
    applied = project.run("apply", "--auto-approve", "--wait")
    assert applied.rc == 0 and "< adopt    a" in applied.out, applied.all
    assert [j["id"] for j in project.core()["jobs"]] == [job["id"]] and project.core()["models"] == [project.model("a")]
    assert len([f for f in project.core()["files"] if f["purpose"] == "fine-tune"]) == 1
    assert project.lock()["models"]["a"]["job"]["launch_key"] == key.short == key.carried(8)
    assert project.run("plan", "--detailed-exitcode").rc == 0  # the 8 carried characters match the lockfile's key


def test_a_child_spec_continues_from_its_parents_model_with_from_checkpoint(project):
    project.dataset("data/parent.jsonl", 12)
    project.dataset("data/child.jsonl", 12, start=50)
    project.spec("parent", base_model=LLAMA)
    project.spec("child", base_model={"spec": "parent"})
    applied = project.run("apply", "--auto-approve", "--wait")
    assert applied.rc == 0, applied.all
    parent_model = project.model("parent")
    assert project.run("apply", "--auto-approve", "--wait").rc == 0  # the child, now that its parent is pinned
    child = project.requests()[1]
    assert child["from_checkpoint"] == parent_model and "model" not in child
    assert project.model("child").startswith("ftops-local/Meta-Llama-3.1-8B-Instruct-Reference-child-")
    assert project.run("plan", "--detailed-exitcode").rc == 0


def test_a_wandb_key_is_sent_only_with_a_wandb_integration_and_never_shown(project, monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", "wandb-secret-0123456789")
    project.dataset("data/a.jsonl", 12)
    project.dataset("data/b.jsonl", 12, start=30)
    project.spec("a", base_model=LLAMA, integrations=[{"type": "wandb", "wandb": {"project": "bots"}}])
    project.spec("b", base_model=LLAMA)
    plan = project.run("plan", "--format", "json")
    applied = project.run("apply", "--auto-approve")
    assert applied.rc == 0, applied.all
    sent = {j["suffix"].split("-")[0]: j["extra"]["wandb_api_key_sent"] for j in project.core()["jobs"]}
    assert sent == {"a": True, "b": False}
    assert "wandb-secret" not in plan.all + applied.all + project.lock_text()


def ftops(root, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TOGETHER_"))}
    return subprocess.run([sys.executable, "-m", "ftops", "-C", str(root), *args], capture_output=True, text=True,
                          env=env, timeout=120, stdin=subprocess.DEVNULL)


def test_the_local_provider_speaking_together_plans_and_applies(tmp_path):
    root = tmp_path / "proj"
    write_jsonl(root / "data" / "a.jsonl", [chat_example(i) for i in range(12)])
    (root / "specs").mkdir()
    (root / "specs" / "a.yaml").write_text(yaml.safe_dump({
        "name": "a", "base_model": LLAMA, "suffix": "a", "training_file": "../data/a.jsonl",
        "method": {"type": "supervised", "training_type": "lora", "hyperparameters": {"learning_rate": 1e-4}}}))
    (root / "ftops.yaml").write_text("providers:\n  local: {type: local, api: together, job_duration: 0.5}\n")

    plan = ftops(root, "plan")
    assert plan.returncode == 0 and "+ create   a" in plan.stdout, plan.stdout + plan.stderr
    launched = ftops(root, "apply", "--auto-approve")
    assert launched.returncode == 0 and "started job ft-" in launched.stdout, launched.stdout + launched.stderr
    time.sleep(1.0)
    assert ftops(root, "apply", "--auto-approve").returncode == 0
    entry = yaml.safe_load((root / "ftops.lock").read_text())["models"]["a"]
    assert entry["model"].startswith("ftops-local/Meta-Llama-3.1-8B-Instruct-Reference-a-")
    assert entry["location"] == {"type": "local", "api": "together"}
    assert ftops(root, "plan", "--detailed-exitcode").returncode == 0


def test_answers_lost_after_the_request_landed_never_upload_or_create_twice(project):
    """drop_after on every kind of request, POSTs included: the upload, the lease marker and the create land, the
    answer never comes; ftops looks (by file name, by the key in the suffix, file and model) before sending again."""
    for name, start in (("a", 0), ("b", 40), ("c", 80)):
        project.dataset(f"data/{name}.jsonl", 12, start=start)
        project.spec(name, base_model=LLAMA)
    project.admin("POST", "faults", {"rate": 0.3, "kinds": ["drop_after"], "seed": 1})
    applied = project.run("apply", "--auto-approve", "--wait")
    assert applied.rc == 0, applied.all
    core = project.core()
    assert sorted(j["suffix"].split("-")[0] for j in core["jobs"]) == ["a", "b", "c"]
    assert all(j["phase"] == "succeeded" for j in core["jobs"])
    names = [f["filename"] for f in core["files"] if f["purpose"] == "fine-tune"]
    assert len(names) == len(set(names)) == 3, names  # one upload per content, and no lease marker left behind
    assert project.admin("GET", "faults")["requests"] > 20 and any(s < 5.0 for s in project.sleeps)
