"""No job is paid twice: not across two checkouts applying at once, not when the provider answers slower than the
client waits, not for a clone under another directory name, not for a renamed spec or a number written as 3.0."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path

import yaml

from ftops.cli.context import Runtime
from ftops.emulator import EmulatorConfig, start
from tests.conftest import TEST_KEY_ENV, Project, chat_example, write_jsonl
from tests.reliability.support import KEY_ENV, EmulatorProcess, Spawned, run_ftops


def small_project(root: Path, url: str, *, project: str | None = "twice", **provider: object) -> Path:
    """Three specs: two share one training file (one upload for both), one has its own."""
    write_jsonl(root / "data" / "shared.jsonl", [chat_example(i) for i in range(12)])
    write_jsonl(root / "data" / "own.jsonl", [chat_example(i) for i in range(40, 52)])
    config: dict = {"default_provider": "emu", "providers": {"emu": {"type": "openai", "base_url": url,
                                                                     "api_key_env": KEY_ENV, **provider}}}
    if project:
        config["project"] = project
    (root / "ftops.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    (root / "specs").mkdir(parents=True, exist_ok=True)
    for name, data, seed in (("one", "shared", 1), ("two", "shared", 2), ("three", "own", 3)):
        (root / "specs" / f"{name}.yaml").write_text(yaml.safe_dump({
            "name": name, "base_model": "gpt-4o-mini-2024-07-18", "suffix": name,
            "training_file": f"../data/{data}.jsonl", "seed": seed}), encoding="utf-8")
    return root


def ledger(state: dict) -> tuple[Counter, Counter]:
    jobs = Counter(j["metadata"].get("ftops_spec") for j in state["jobs"])
    uploads = Counter(f["filename"] for f in state["files"]
                      if f["purpose"] == "fine-tune" and not f["filename"].startswith("ftops-lease."))
    return jobs, uploads


def test_two_checkouts_applying_at_once_start_each_job_once(tmp_path):
    """Two clones of one project (two CI runners) apply at the same moment against a provider 1-2 s away."""
    with EmulatorProcess(tmp_path / "emu", job_duration=600.0, extra=("--latency", "1-2")) as emu:
        first = small_project(tmp_path / "runner-a" / "repo", emu.url)
        second = tmp_path / "runner-b" / "checkout"
        shutil.copytree(first, second)
        a = Spawned(first, "apply", "--auto-approve")
        b = Spawned(second, "apply", "--auto-approve")
        assert a.finish(timeout=300) == 0, a.stdout + a.stderr
        assert b.finish(timeout=300) == 0, b.stdout + b.stderr
        jobs, uploads = ledger(emu.state())
    assert jobs == Counter({"one": 1, "two": 1, "three": 1}), jobs  # every job, cancelled ones included
    assert all(n == 1 for n in uploads.values()) and len(uploads) == 2, uploads
    outputs = a.stdout + b.stdout
    assert outputs.count("started job") == 3 and outputs.count("adopting job") == 3, outputs


def test_a_provider_slower_than_the_client_timeout_still_gets_each_create_once(tmp_path, monkeypatch):
    """Every create lands 2 s after it is sent; the client gives up after 1 s and must look, not send again."""
    emu = start(EmulatorConfig(state_dir=tmp_path / "emu", job_duration=600.0, create_latency=2.0))
    try:
        root = small_project(tmp_path / "proj", emu.url, timeout=1.0)
        monkeypatch.setenv(KEY_ENV, "k-slow-provider")
        project = Project(root, emu, bind={KEY_ENV: emu.url})
        result = project.run("apply", "--auto-approve", runtime=Runtime(sleep=time.sleep, poll_interval=1.0))
        assert result.rc == 0, result.all
        state = project.admin("GET", "state")
    finally:
        emu.stop()
    jobs, uploads = ledger(state)
    assert jobs == Counter({"one": 1, "two": 1, "three": 1}), jobs
    assert all(n == 1 for n in uploads.values()) and len(uploads) == 2, uploads


def _git_clone_at(path: Path, origin: str) -> None:
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    subprocess.run(["git", "-C", str(path), "remote", "add", "origin", origin], check=True)


def test_a_clone_under_another_directory_name_is_the_same_project(tmp_path, monkeypatch):
    emu = start(EmulatorConfig(state_dir=tmp_path / "emu", job_duration=600.0))
    try:
        monkeypatch.setenv(KEY_ENV, "k")
        a_root, b_root = tmp_path / "fine-tunes", tmp_path / "ci-workspace-1234"
        for root in (a_root, b_root):
            _git_clone_at(root, "git@github.com:acme/fine-tunes.git")
            small_project(root, emu.url, project=None)
        a = Project(a_root, emu, bind={KEY_ENV: emu.url})
        b = Project(b_root, emu, bind={KEY_ENV: emu.url})
        assert a.run("apply", "--auto-approve").rc == 0  # its lockfile is not shared (not committed yet)
        plan = b.run("plan")
        assert plan.rc == 0 and plan.out.count("< adopt") == 3, plan.all
        assert b.run("apply", "--auto-approve").rc == 0
        jobs, _ = ledger(a.admin("GET", "state"))
        assert all(j["metadata"]["ftops_project"] == "fine-tunes" for j in a.admin("GET", "state")["jobs"])
    finally:
        emu.stop()
    assert jobs == Counter({"one": 1, "two": 1, "three": 1})


def test_a_renamed_spec_moves_with_moved_from_and_keeps_its_model(project):
    project.dataset("data/old.jsonl", 12)
    project.spec("old-name", training_file="../data/old.jsonl")
    assert project.run("apply", "--auto-approve", "--wait").rc == 0
    model = project.model("old-name")
    (project.root / "specs" / "old-name.yaml").unlink()
    project.spec("new-name", training_file="../data/old.jsonl", suffix="old-name", moved_from="old-name")
    plan = project.run("plan", "--detailed-exitcode")
    assert plan.rc == 2 and "> move     new-name" in plan.out and "renamed from 'old-name'" in plan.out, plan.all
    assert "create" not in plan.out and "forget" not in plan.out and "est." not in plan.out
    assert project.run("apply", "--auto-approve").rc == 0
    assert project.model("new-name") == model and "old-name" not in project.lock()["models"]
    assert len(project.jobs()) == 1
    assert project.run("plan", "--detailed-exitcode").rc == 0


def test_equal_numbers_are_equal(project):
    project.dataset("data/a.jsonl", 12)
    project.spec("a", method={"type": "supervised", "hyperparameters": {"n_epochs": 3.0, "batch_size": 4}})
    plan = project.run("plan")
    assert "x 3 epochs" in plan.out, plan.out
    assert project.run("apply", "--auto-approve", "--wait").rc == 0
    project.spec("a", method={"type": "supervised", "hyperparameters": {"n_epochs": 3, "batch_size": 4.0}})
    assert project.run("plan", "--detailed-exitcode").rc == 0
    assert len(project.jobs()) == 1
