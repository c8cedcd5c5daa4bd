"""The after-the-job verbs on a real Ray head: W&B logged by ftops itself after the job (Ray has no W&B
integration of its own), results from the trainer's log, logs --follow, cancel held until --retry, pause refused."""

from __future__ import annotations

import json

from tests.lifecycle.test_results import read_wandb_run


def test_wandb_is_logged_by_ftops_after_the_job_and_results_come_from_the_trainers_log(ray_project, tmp_path,
                                                                                          monkeypatch):
    p = ray_project
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb-dir"))
    monkeypatch.setenv("WANDB_SILENT", "true")
    (tmp_path / "wandb-dir").mkdir()
    p.dataset("data/a.jsonl", 24)
    p.dataset("data/a-valid.jsonl", 6, start=24)
    p.spec("a", validation_file="../data/a-valid.jsonl", integrations=[{"type": "wandb", "wandb": {"project": "r"}}])

    applied = p.run("apply", "--auto-approve", "--wait")

    assert applied.rc == 0, applied.all
    assert "a: logged W&B offline run" in applied.out, applied.out
    entry = p.entry("a")
    assert entry["metrics"]["steps"] == 3 and "valid_loss" in entry["metrics"]
    config, history = read_wandb_run(tmp_path / "wandb-dir")
    assert config["n_epochs"] == 3 and config["learning_rate"] == 0.5 and config["base_model"] == "bigram-0"
    assert sorted(history) == [1, 2, 3]
    shown = json.loads(p.run("results", "a", "--json").out)
    assert [r["step"] for r in shown["metrics"]] == [1, 2, 3]
    assert [history[r["step"]]["train_loss"] for r in shown["metrics"]] == [r["train_loss"] for r in shown["metrics"]]
    followed = p.run("logs", "a", "--follow")
    assert followed.rc == 0 and "step 3: train loss" in followed.out, followed.all


def test_cancel_on_ray_stops_the_run_and_apply_waits_for_retry(ray_project):
    p = ray_project
    p.dataset("data/a.jsonl", 24)
    p.spec("a", provider_options={"ray": {"env_vars": {"BIGRAM_HOLD_SECONDS": "30"}}})
    assert p.run("apply", "--auto-approve").rc == 0

    paused = p.run("pause", "a")
    cancelled = p.run("cancel", "a")

    assert paused.rc == 1 and "cannot pause a job" in paused.err
    assert cancelled.rc == 0, cancelled.all
    (job,) = p.my_jobs()
    assert p.head.wait_for(job["submission_id"], ("STOPPED", "SUCCEEDED", "FAILED"))["status"] == "STOPPED"
    plan = p.run("plan")
    assert "was cancelled with `ftops cancel`" in plan.out and "--retry a" in plan.out, plan.all
    assert p.run("apply", "--auto-approve").rc == 0
    assert len(p.my_jobs()) == 1
