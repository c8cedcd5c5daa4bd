"""Cleanup (a removed spec's job cancelled, superseded models pruned with keep and protect, ftops delete with its
confirmation) and ftops import (adopt when every input is verified, retrain with the reasons otherwise)."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import TEST_KEY
from tests.lifecycle.test_jobs_and_logs import started


def trained_then_replaced(world, **fields):
    world.dataset("data/a.jsonl", 12)
    world.spec("a", **fields)
    assert world.run("apply", "--auto-approve", "--wait").rc == 0
    first = world.lock()["models"]["a"]
    world.dataset("data/a.jsonl", 14)  # new data: a replace
    assert world.run("apply", "--auto-approve", "--wait").rc == 0
    return first, world.lock()["models"]["a"]


def trained_of(entry: dict) -> str:
    return entry.get("trained_model") or entry["model"]


def test_a_removed_specs_job_in_flight_is_cancelled_by_apply(world):
    job_id = started(world)
    (world.root / "specs/a.yaml").unlink()

    plan = world.run("plan")
    applied = world.run("apply", "--auto-approve")

    assert f"its job {job_id} is still in flight; apply cancels it" in plan.out, plan.all
    assert applied.rc == 0, applied.all
    assert world.phases() == ["cancelled"]
    assert "a" not in (world.lock().get("models") or {})


def test_superseded_models_are_tracked_and_pruned_after_the_new_pin(world):
    first, second = trained_then_replaced(world)
    old = trained_of(first)
    assert [s["model"] for s in second["superseded"]] == [old]
    assert old in world.core()["models"]  # a replace alone deletes nothing

    plan = world.run("plan", "--prune")
    applied = world.run("apply", "--auto-approve", "--prune")

    assert "--prune deletes 1 model(s) superseded by the pinned" in plan.out, plan.all
    assert applied.rc == 0, applied.all
    assert old not in world.core()["models"]
    assert trained_of(second) in world.core()["models"]
    assert "superseded" not in world.lock()["models"]["a"]
    assert world.run("plan", "--prune", "--detailed-exitcode").rc == 0


@pytest.mark.parametrize("policy", [{"keep": 1}, {"protect": True}], ids=["keep", "protect"])
def test_prune_never_deletes_what_keep_or_protect_retains(openai_world, policy):
    world = openai_world
    first, _ = trained_then_replaced(world, **policy)

    applied = world.run("apply", "--auto-approve", "--prune")

    assert applied.rc == 0, applied.all
    assert first["model"] in world.core()["models"]
    assert world.run("plan", "--prune", "--detailed-exitcode").rc == 0


def test_delete_refuses_without_a_terminal_and_deletes_with_yes(world, no_terminal):
    first, second = trained_then_replaced(world)
    (world.root / "specs/a.yaml").unlink()

    refused = world.run("delete", "a")
    assert refused.rc == 1 and "refusing to delete without --yes" in refused.err
    assert trained_of(second) in world.core()["models"]

    deleted = world.run("delete", "a", "--yes")

    assert deleted.rc == 0, deleted.all
    models = world.core()["models"]
    assert trained_of(second) not in models and trained_of(first) not in models
    assert "a" not in (world.lock().get("models") or {})


def test_delete_never_touches_a_protected_spec(openai_world, no_terminal):
    world = openai_world
    world.dataset("data/a.jsonl", 12)
    world.spec("a", protect=True)
    assert world.run("apply", "--auto-approve", "--wait").rc == 0

    refused = world.run("delete", "a", "--yes")

    assert refused.rc == 1 and "protected" in refused.err
    assert world.model("a") in world.core()["models"]


# -- import ----------------------------------------------------------------------------------------------------
def test_import_of_a_matching_job_is_adopted_without_training(world):
    world.dataset("data/a.jsonl", 12)
    world.spec("a")
    assert world.run("apply", "--auto-approve", "--wait").rc == 0
    job_id = world.lock()["models"]["a"]["job"]["id"]
    model = world.model("a")
    (world.root / "ftops.lock").unlink()  # a checkout that never knew it: same inputs, another spec name
    (world.root / "specs/a.yaml").unlink()
    world.spec("b", training_file="../data/a.jsonl", suffix="a")

    imported = world.run("import", "b", job_id)

    assert imported.rc == 0, imported.all
    assert "Every input matches the spec" in imported.out
    entry = world.lock()["models"]["b"]
    assert entry["imported"]["matches"] is True and "fingerprint" not in entry
    plan = world.run("plan")
    assert "< adopt    b" in plan.out and "every input matches the spec" in plan.out, plan.all
    assert world.run("apply", "--auto-approve").rc == 0
    assert len(world.core()["jobs"]) == 1  # adopted, not trained
    assert world.model("b") == model and world.lock()["models"]["b"]["fingerprint"]
    assert world.run("plan", "--detailed-exitcode").rc == 0


def outside_job(world, n_epochs: int = 2) -> dict:
    """A fine-tune made with the API directly (a file ftops did not upload, no ftops metadata)."""
    headers = {"Authorization": f"Bearer {TEST_KEY}"}
    body = (world.root / "data/a.jsonl").read_bytes()
    uploaded = httpx.post(f"{world.emu.url}/files", headers=headers, data={"purpose": "fine-tune"},
                          files={"file": ("mine.jsonl", body, "application/jsonl")}).json()
    job = httpx.post(f"{world.emu.url}/fine_tuning/jobs", headers=headers, json={
        "model": "gpt-4o-mini-2024-07-18", "training_file": uploaded["id"],
        "method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": n_epochs}}}}).json()
    world.advance(3600)
    return httpx.get(f"{world.emu.url}/fine_tuning/jobs/{job['id']}", headers=headers).json()


def test_import_of_an_outside_fine_tune_records_what_cannot_be_verified_and_retrains(openai_world):
    world = openai_world
    world.dataset("data/a.jsonl", 12)
    job = outside_job(world)
    world.write("specs/a.yaml", "name: a\nbase_model: gpt-4o-mini-2024-07-18\ntraining_file: ../data/a.jsonl\n"
                                "method: {type: supervised, hyperparameters: {n_epochs: 3}}\n")

    imported = world.run("import", "a", job["fine_tuned_model"])  # by model id

    assert imported.rc == 0, imported.all
    entry = world.lock()["models"]["a"]
    assert entry["model"] == job["fine_tuned_model"] and entry["job"]["id"] == job["id"]
    assert entry["imported"]["matches"] is False
    findings = "\n".join(entry["imported"]["findings"])
    assert "n_epochs: the job used 2; the spec says 3" in findings
    assert f"training_file: the job trained on {job['training_file']}, which ftops did not upload" in findings
    assert entry["imported"]["observed"]["training_file"] == job["training_file"]
    assert "inputs" not in entry and "fingerprint" not in entry  # nothing invented
    plan = world.run("plan")
    assert "~ replace  a" in plan.out and "n_epochs: the job used 2" in plan.out, plan.all
    assert world.run("apply", "--auto-approve", "--wait").rc == 0
    after = world.lock()["models"]["a"]
    assert after["model"] != job["fine_tuned_model"]
    assert [s["model"] for s in after["superseded"]] == [job["fine_tuned_model"]]


def test_import_refuses_a_job_in_flight_and_a_spec_that_has_a_model(openai_world):
    world = openai_world
    job_id = started(world)
    world.spec("b", training_file="../data/a.jsonl")

    assert "only a job that succeeded can be imported" in world.run("import", "b", job_id).err
    world.finish_jobs()
    assert world.run("apply", "--auto-approve").rc == 0
    refused = world.run("import", "a", job_id)
    assert refused.rc == 1 and "already has a lockfile entry" in refused.err
