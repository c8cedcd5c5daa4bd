"""The Ray walk-through against a real head: a custom trainer (a bigram model trained on the staged data) goes
create -> apply --wait -> a pinned artifact; a changed dataset replaces it and keeps the old pin until the new run
succeeds; every dataset goes up once per content; the built-in metrics reach ftops through the job's log."""

from __future__ import annotations

import json
from pathlib import Path

from ftops.providers.ray.package import data_package


def artifact_dir(uri: str) -> Path:
    assert uri.startswith("file://"), uri
    return Path(uri[len("file://"):])


def test_a_custom_trainer_run_is_pinned_as_its_artifact_and_then_nothing_changes(ray_project):
    p = ray_project
    p.dataset("data/a.jsonl", 24)
    p.dataset("data/a-valid.jsonl", 6, start=24)
    p.spec("a", validation_file="../data/a-valid.jsonl")

    plan = p.run("plan")
    assert plan.rc == 0 and "requests no GPU" in plan.out and "no price known" not in plan.all, plan.all
    applied = p.run("apply", "--auto-approve", "--wait")
    assert applied.rc == 0, applied.all
    entry = p.entry("a")
    key = entry["job"]["launch_key"]
    assert entry["model"] == f"{p.artifacts_uri}/{p.name}/a/{key}"
    model = artifact_dir(entry["model"])
    weights = json.loads((model / "model.json").read_text())
    assert set(weights) == {"vocab", "weights"} and "plus" in weights["vocab"]
    metrics = [json.loads(line) for line in (model / "metrics.jsonl").read_text().splitlines()]
    losses = [m["train_loss"] for m in metrics]
    assert len(losses) == 3 and losses[0] > losses[1] > losses[2], metrics  # it really learned
    assert all("valid_loss" in m for m in metrics)
    assert entry["location"] == {"type": "ray", "endpoint": p.head.url, "artifacts": p.artifacts_uri,
                                 "base_model": "bigram-0", "trainer": "custom"}
    assert entry["job"]["id"] == f"ftops-{key}-1" and entry["job"]["status"] == "SUCCEEDED"
    assert entry["job"]["hyperparameters"] == {"learning_rate": 0.5, "n_epochs": 3}
    provider = p.provider("gpu")
    try:
        events = provider.list_events(entry["job"]["id"], limit=50)
    finally:
        provider.close()
    steps = [e for e in events if e.type == "metrics"]  # newest first, read back from the job's log
    assert [e.data["step"] for e in steps] == [3, 2, 1] and steps[0].message.startswith("Step 3: training loss=")
    assert not list(model.parent.glob("*.partial-*"))  # written aside, renamed when done

    again = p.run("plan", "--detailed-exitcode")
    assert again.rc == 0 and "no changes" in again.out, again.all


def test_a_changed_dataset_replaces_the_model_and_keeps_the_old_pin_until_the_new_run_succeeded(ray_project):
    p = ray_project
    p.dataset("data/a.jsonl", 20)
    p.spec("a")
    assert p.run("apply", "--auto-approve", "--wait").rc == 0
    old = p.entry("a")["model"]

    p.dataset("data/a.jsonl", 26)
    plan = p.run("plan")
    assert "~ replace  a" in plan.out and "training_file" in plan.out, plan.all
    started = p.run("apply", "--auto-approve")  # no --wait: the new run is in flight
    assert started.rc == 0, started.all
    entry = p.entry("a")
    assert entry["model"] == old and entry["pending"]["job_id"]
    new_job = entry["pending"]["job_id"]
    assert p.head.wait_for(new_job, ("SUCCEEDED", "FAILED"))["status"] == "SUCCEEDED"
    assert p.entry("a")["model"] == old  # only apply moves the pin

    recorded = p.run("apply", "--auto-approve")
    assert recorded.rc == 0, recorded.all
    new = p.entry("a")["model"]
    assert new != old and (artifact_dir(new) / "model.json").is_file()
    assert (artifact_dir(old) / "model.json").is_file()  # the old artifact is not touched
    assert p.run("plan", "--detailed-exitcode").rc == 0


def test_each_dataset_is_uploaded_once_and_shared_by_every_spec_that_uses_it(ray_project):
    p = ray_project
    p.dataset("data/shared.jsonl", 18, start=100)
    p.spec("one", training_file="../data/shared.jsonl")
    p.spec("two", training_file="../data/shared.jsonl", method={"type": "supervised",
                                                                "hyperparameters": {"n_epochs": 2}})
    applied = p.run("apply", "--auto-approve", "--wait")
    assert applied.rc == 0, applied.all
    sha = p.entry("one")["inputs"]["training_file"]["sha256"]
    name = data_package(sha)
    assert p.head.uploads(name) == 1 and p.head.package_exists(name)
    jobs = p.my_jobs()
    assert len(jobs) == 2 and all(j["runtime_env"]["py_modules"] == [f"gcs://{name}"] for j in jobs)
    assert len({j["runtime_env"]["working_dir"] for j in jobs}) == 1  # one trainer package for both

    p.spec("three", training_file="../data/shared.jsonl", method={"type": "supervised",
                                                                  "hyperparameters": {"n_epochs": 1}})
    later = p.run("apply", "--auto-approve", "--wait")
    assert later.rc == 0, later.all
    assert "uploaded data/" not in later.out and p.head.uploads(name) == 1, later.all
