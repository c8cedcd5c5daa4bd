"""The contract suite's behaviours (tests/contract), on a real Ray head. The contract suite's fixture drives an
emulator dialect (fail-next, a clock to advance, a neutral state view); Ray has no emulator dialect, so the same
behaviours are checked here against the real job server and the artifact directories: adopt after an interrupted
apply, retry after a failure, a superseded run stopped, drift, record, prune. Create and replace are in
test_walkthrough.py."""

from __future__ import annotations

import shutil
from pathlib import Path


def artifact(uri: str) -> Path:
    return Path(uri[len("file://"):])


def test_an_interrupted_apply_is_adopted_not_submitted_twice(ray_project):
    p = ray_project
    p.dataset("data/a.jsonl", 16)
    p.spec("a")
    assert p.run("apply", "--auto-approve").rc == 0  # the job starts; the apply ends
    (p.root / "ftops.lock").unlink()  # as if the apply had died before writing anything down
    plan = p.run("plan")
    assert "< adopt    a" in plan.out, plan.all
    applied = p.run("apply", "--auto-approve", "--wait")
    assert applied.rc == 0, applied.all
    assert list(p.submissions().values()) == [[p.entry("a")["job"]["id"]]]
    assert (artifact(p.entry("a")["model"]) / "model.json").is_file()


def test_a_failing_trainer_shows_the_drivers_error_and_a_retry_is_a_new_attempt(ray_project):
    p = ray_project
    flag = p.write("fail-flag", "")
    p.configure(env_vars={"BIGRAM_FAIL_IF_EXISTS": str(flag)})
    p.dataset("data/a.jsonl", 16)
    p.spec("a")
    failed = p.run("apply", "--auto-approve", "--wait")
    assert failed.rc == 1, failed.all
    why = "ValueError: bigram: refusing to train while fail-flag exists"
    assert f"FAILED: the trainer exited with code 1: {why}" in failed.out, failed.all
    assert p.entry("a")["model"] is None and p.entry("a")["pending"]["error"]["message"].endswith(why)
    plan = p.run("plan")
    assert "↻ retry    a" in plan.out and why in plan.out, plan.all

    flag.unlink()
    retried = p.run("apply", "--auto-approve", "--wait")
    assert retried.rc == 0, retried.all
    (ids,) = p.submissions().values()
    key = p.entry("a")["job"]["launch_key"]
    assert ids == [f"ftops-{key}-1", f"ftops-{key}-2"] and p.states() == ["FAILED", "SUCCEEDED"]
    assert p.entry("a")["job"]["id"] == f"ftops-{key}-2"


def test_a_run_superseded_while_in_flight_is_stopped(ray_project):
    p = ray_project
    p.dataset("data/a.jsonl", 16)
    p.spec("a", provider_options={"ray": {"env_vars": {"BIGRAM_HOLD_SECONDS": "120"}}})
    assert p.run("apply", "--auto-approve").rc == 0
    first = p.entry("a")["pending"]["job_id"]
    assert p.head.wait_for(first, ("RUNNING",))["status"] == "RUNNING"

    p.dataset("data/a.jsonl", 17)
    p.spec("a")
    applied = p.run("apply", "--auto-approve", "--wait")
    assert applied.rc == 0, applied.all
    assert f"cancelled superseded job {first}" in applied.out
    stopped = p.head.wait_for(first, ("STOPPED", "FAILED", "SUCCEEDED"))
    assert stopped["status"] == "STOPPED" and stopped["message"] == "Job was intentionally stopped."
    assert p.entry("a")["job"]["id"] != first and artifact(p.entry("a")["model"]).is_dir()
    assert not list(artifact(p.entry("a")["model"]).parent.glob("*.partial-*"))  # the stopped run left none


def test_stop_on_a_run_waiting_for_resources_is_reported_as_cancelling(ray_project):
    p = ray_project
    p.dataset("data/a.jsonl", 16)
    p.spec("a", provider_options={"ray": {"num_gpus": 1}})  # the head has no GPU: it waits for ever
    plan = p.run("plan")
    assert "requests 1 GPU; Ray reports no prices" in plan.out, plan.all
    assert p.run("apply", "--auto-approve").rc == 0
    job_id = p.entry("a")["pending"]["job_id"]
    provider = p.provider("gpu")
    try:
        job = provider.cancel_job(job_id)
    finally:
        provider.close()
    assert (job.state, job.raw_status) == ("cancelling", "PENDING (stop requested)")
    assert p.head.job(job_id)["status"] == "PENDING"  # Ray's trap: the stop is accepted, the job stays


def test_a_removed_artifact_is_drift_and_trains_again_as_a_new_attempt(ray_project):
    p = ray_project
    p.dataset("data/a.jsonl", 16)
    p.spec("a")
    assert p.run("apply", "--auto-approve", "--wait").rc == 0
    model = p.entry("a")["model"]
    shutil.rmtree(artifact(model))
    plan = p.run("plan")
    assert "! drift    a" in plan.out, plan.all
    applied = p.run("apply", "--auto-approve", "--wait")
    assert applied.rc == 0, applied.all
    assert p.entry("a")["model"] == model and (artifact(model) / "model.json").is_file()  # the same address
    (ids,) = p.submissions().values()
    assert [i.rsplit("-", 1)[1] for i in ids] == ["1", "2"]


def test_a_run_that_finished_after_apply_returned_is_recorded_without_training(ray_project):
    p = ray_project
    p.dataset("data/a.jsonl", 16)
    p.spec("a")
    assert p.run("apply", "--auto-approve").rc == 0
    assert p.head.wait_for(p.entry("a")["pending"]["job_id"], ("SUCCEEDED",))["status"] == "SUCCEEDED"
    plan = p.run("plan")
    assert "= record   a" in plan.out, plan.all
    assert p.run("apply", "--auto-approve").rc == 0
    assert artifact(p.entry("a")["model"]).is_dir() and len(p.my_jobs()) == 1


def test_prune_deletes_the_artifact_of_a_removed_spec_but_never_a_protected_one(ray_project):
    p = ray_project
    p.dataset("data/a.jsonl", 16)
    p.dataset("data/b.jsonl", 16, start=40)
    p.spec("a")
    p.spec("b", protect=True)
    assert p.run("apply", "--auto-approve", "--wait").rc == 0
    a, b = artifact(p.entry("a")["model"]), artifact(p.entry("b")["model"])
    (p.root / "specs" / "a.yaml").unlink()
    (p.root / "specs" / "b.yaml").unlink()
    pruned = p.run("apply", "--auto-approve", "--prune")
    assert pruned.rc == 0, pruned.all
    assert not a.exists() and (b / "model.json").is_file() and p.lock()["models"] == {}
