"""ftops jobs, status --refresh and logs [--follow], on every emulator dialect: what the provider says now, with
spec names; logs exit with the job's outcome, need no apply lock, and leave the job running on Ctrl-C."""

from __future__ import annotations

import json

import pytest

from ftops.cli.context import Runtime
from ftops.projectlock import ProjectLock


def started(world, name: str = "a"):
    world.dataset(f"data/{name}.jsonl", 12)
    world.spec(name)
    applied = world.run("apply", "--auto-approve")
    assert applied.rc == 0, applied.all
    (job,) = [j for j in world.core()["jobs"] if j["phase"] not in ("succeeded", "failed", "cancelled")]
    return job["id"]


def test_jobs_lists_the_job_in_flight_with_its_spec_name(world):
    job_id = started(world)

    listed = world.run("jobs")
    as_json = world.run("jobs", "--json")

    assert listed.rc == 0, listed.all
    (line,) = [line for line in listed.out.splitlines() if job_id in line]
    assert line.startswith("a "), listed.out
    rows = json.loads(as_json.out)["jobs"]
    assert [(r["spec"], r["job"], r["state"]) for r in rows] == [("a", job_id, "queued")]


def test_jobs_shows_a_finished_job_after_the_running_ones_and_filters_by_spec(world):
    world.dataset("data/a.jsonl", 12)
    world.spec("a")
    assert world.run("apply", "--auto-approve", "--wait").rc == 0
    second = started(world, "b")

    rows = json.loads(world.run("jobs", "--json").out)["jobs"]
    only_a = json.loads(world.run("jobs", "a", "--json").out)["jobs"]

    assert [(r["spec"], r["state"]) for r in rows] == [("b", "queued"), ("a", "succeeded")]
    assert rows[0]["job"] == second and rows[1]["model"] == world.model("a") or \
        rows[1]["model"] == world.lock()["models"]["a"].get("trained_model")
    assert [r["spec"] for r in only_a] == ["a"]
    assert world.run("jobs", "nope").rc == 1


def test_status_refresh_asks_the_provider_and_changes_nothing(openai_world):
    world = openai_world
    job_id = started(world)
    world.advance(5)  # validating -> running on the emulator's clock
    before = world.lock_text()

    plain = world.run("status")
    fresh = world.run("status", "--refresh")
    as_json = json.loads(world.run("status", "--refresh", "--json").out)

    assert f"pending: job {job_id} validating_files" in plain.out
    assert f"pending: job {job_id} running (the lockfile says validating_files)" in fresh.out, fresh.out
    assert as_json["models"][0]["pending"]["live"]["status"] == "running"
    assert world.lock_text() == before


def test_logs_follow_streams_steps_and_exits_0_when_the_job_succeeds(world):
    job_id = started(world)

    followed = world.run("logs", "a", "--follow")

    assert followed.rc == 0, followed.all
    assert world.phases() == ["succeeded"]
    assert f"a: job {job_id} succeeded:" in followed.out
    if world.harness.api in ("openai", "together"):  # events (OpenAI) or the metrics call (Together)
        assert "step " in followed.out and "train loss" in followed.out, followed.out
    if world.harness.api == "fireworks":  # no event stream: its status changes are followed
        assert "reports no events" in followed.out and "status: JOB_STATE_COMPLETED" in followed.out


def test_logs_follow_exits_1_when_the_job_fails(world):
    world.admin("POST", "fail-next", {"code": "invalid_training_file", "message": "line 3: bad role"})
    started(world)

    followed = world.run("logs", "a", "--follow")

    assert followed.rc == 1, followed.all
    assert "line 3: bad role" in followed.out


def test_logs_without_follow_prints_what_there_is_and_the_state(openai_world):
    world = openai_world
    started(world)
    world.advance(8)

    shown = world.run("logs", "a")

    assert shown.rc == 0
    assert "Fine-tuning job started" in shown.out and "step " in shown.out
    assert world.phases() == ["running"]


def test_logs_needs_no_apply_lock(openai_world):
    world = openai_world
    started(world)
    with ProjectLock(world.root / ".ftops", command="apply"):  # an apply --wait holding the lock
        followed = world.run("logs", "a", "--follow")
    assert followed.rc == 0, followed.all


def test_ctrl_c_stops_following_and_the_job_keeps_running(openai_world):
    world = openai_world
    job_id = started(world)

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    followed = world.run("logs", "a", "--follow", runtime=Runtime(sleep=interrupt, poll_interval=5.0))

    assert followed.rc == 130, followed.all
    assert f"job {job_id} keeps running" in followed.out
    assert world.phases() == ["queued"] or world.phases() == ["running"] or world.phases() == ["validating"]


@pytest.mark.parametrize("forced", ["on", "off"])
def test_logs_follow_draws_a_progress_bar_only_on_a_terminal(openai_world, monkeypatch, forced):
    world = openai_world
    started(world)
    monkeypatch.setenv("FTOPS_PROGRESS", forced)  # as if stdout were (not) a terminal

    followed = world.run("logs", "a", "--follow")

    assert followed.rc == 0, followed.all
    assert ("━" in followed.out) == (forced == "on"), followed.out
    assert "train loss" in followed.out  # the event lines are there either way
