"""cancel, pause, resume on a spec's in-flight job: the provider's job changes (the emulator's neutral record),
the lockfile records it, a cancelled job is not started again until --retry, and a provider without the verb
says so (exit 1)."""

from __future__ import annotations

import pytest

from tests.lifecycle.test_jobs_and_logs import started


def test_cancel_stops_the_job_and_apply_does_not_start_it_again(world):
    job_id = started(world)

    cancelled = world.run("cancel", "a")

    assert cancelled.rc == 0, cancelled.all
    assert world.phases() == ["cancelled"]
    pending = world.lock()["models"]["a"]["pending"]
    assert (pending["job_id"], pending["requested"]["verb"]) == (job_id, "cancel")
    assert pending["state"] in ("cancelled", "cancelling")  # Together shows cancel_requested for a moment
    world.advance(5)
    plan = world.run("plan", "--detailed-exitcode")
    assert plan.rc == 0, plan.all  # nothing to do
    assert f"job {job_id} was cancelled with `ftops cancel`" in plan.out
    assert "ftops apply --retry a" in plan.out
    applied = world.run("apply", "--auto-approve", "--wait")
    assert applied.rc == 0 and "Nothing to do." in applied.out, applied.all
    assert len(world.core()["jobs"]) == 1  # not started again


def test_retry_trains_a_cancelled_spec_again(world):
    started(world)
    assert world.run("cancel", "a").rc == 0
    world.advance(5)

    planned = world.run("plan", "--retry", "a")
    applied = world.run("apply", "--auto-approve", "--wait", "--retry", "a")

    assert "retry    a" in planned.out and "--retry trains it again" in planned.out, planned.all
    assert applied.rc == 0, applied.all
    assert world.phases() == ["cancelled", "succeeded"]
    assert world.model("a")


def test_a_job_cancelled_in_the_providers_console_is_held_too(openai_world):
    import httpx

    from tests.conftest import TEST_KEY

    world = openai_world
    job_id = started(world)
    httpx.post(f"{world.emu.url}/fine_tuning/jobs/{job_id}/cancel",
               headers={"Authorization": f"Bearer {TEST_KEY}"}).raise_for_status()

    plan = world.run("plan")

    assert f"job {job_id} was cancelled outside apply" in plan.out, plan.all
    assert "retry    a" not in plan.out  # a failed job is retried as before (the contract suite); not this one


def test_pause_and_resume_are_recorded(openai_world):
    world = openai_world
    job_id = started(world)
    world.advance(5)  # running

    paused = world.run("pause", "a")
    assert paused.rc == 0, paused.all
    assert world.phases() == ["paused"]
    assert world.lock()["models"]["a"]["pending"]["requested"]["verb"] == "pause"
    assert world.lock()["models"]["a"]["pending"]["status"] == "paused"
    waited = world.run("apply", "--auto-approve", "--wait")
    assert waited.rc == 0 and f"job {job_id} is paused; `ftops resume a` continues it" in waited.out, waited.all

    resumed = world.run("resume", "a")

    assert resumed.rc == 0, resumed.all
    assert world.phases() == ["running"]
    assert world.lock()["models"]["a"]["pending"]["requested"]["verb"] == "resume"
    assert world.run("apply", "--auto-approve", "--wait").rc == 0
    assert world.model("a")


@pytest.mark.parametrize("provider,verb", [("together", "pause"), ("together", "resume"), ("fireworks", "pause")])
def test_a_verb_the_provider_lacks_is_refused_clearly(tmp_path, provider, verb):
    from tests.lifecycle.conftest import make_world

    world, emu = make_world(tmp_path, provider)
    try:
        started(world)
        world.advance(5)

        result = world.run(verb, "a")

        assert result.rc == 1, result.all
        assert f"cannot {verb} a job: its API has no such call" in result.err
        assert world.phases() == ["running"]
        assert "requested" not in world.lock()["models"]["a"]["pending"]
    finally:
        emu.stop()


def test_fireworks_resume_continues_a_cancelled_job(tmp_path):
    from tests.lifecycle.conftest import make_world

    world, emu = make_world(tmp_path, "fireworks")
    try:
        started(world)
        assert world.run("cancel", "a").rc == 0
        resumed = world.run("resume", "a")
        assert resumed.rc == 0, resumed.all
        assert world.phases() != ["cancelled"]
        assert world.lock()["models"]["a"]["pending"]["state"] != "cancelled"
        assert world.run("apply", "--auto-approve", "--wait").rc == 0
        assert world.model("a")
    finally:
        emu.stop()


def test_cancel_with_nothing_in_flight_says_so(openai_world):
    world = openai_world
    world.dataset("data/a.jsonl", 12)
    world.spec("a")
    assert world.run("apply", "--auto-approve", "--wait").rc == 0

    result = world.run("cancel", "a")

    assert result.rc == 1
    assert "a has no job in flight" in result.err


def test_cancel_while_an_apply_holds_the_lock_still_cancels(openai_world):
    from ftops.projectlock import ProjectLock

    world = openai_world
    started(world)
    with ProjectLock(world.root / ".ftops", command="apply"):
        result = world.run("cancel", "a")
    assert result.rc == 0, result.all
    assert world.phases() == ["cancelled"]
    assert "not recorded in the lockfile" in result.err
    assert "was cancelled outside apply" in world.run("plan").out  # held all the same
