"""One contract of behaviour, run against every provider type over its emulator dialect: create, adopt after an
interrupted apply, retry after a failure, replace keeps the old pin until the new job succeeds, a superseded job
is cancelled, drift, record, prune. Every test checks effects: the lockfile, and the emulator's own neutral record
of jobs and models (``/_emulator/state``'s ``core``), never call order."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from ftops.emulator import EmulatorConfig, start
from tests.conftest import Project, TEST_KEY_ENV
from tests.contract.harness import HARNESSES, Harness


class World(Project):
    """A project with one provider, ``p``, of the harness's type, on a fresh emulator of its dialect."""

    def __init__(self, root, emu, harness: Harness):
        more = {variable: where(emu.url) for variable, (_, where) in harness.credentials.items()}
        super().__init__(root, emu, bind={TEST_KEY_ENV: emu.url, **more} if harness.keyed else None)
        self.harness = harness
        self.write("ftops.yaml", yaml.safe_dump({"project": "contract", "default_provider": "p",
                                                "providers": {"p": harness.block(emu.url)}}))

    def spec(self, name: str, **fields: Any):
        return super().spec(name, base_model=self.harness.base_model, **{**self.harness.spec_fields, **fields})

    def core(self) -> dict[str, Any]:
        return self.admin("GET", "state")["core"]

    def phases(self) -> list[str]:
        return [j["phase"] for j in self.core()["jobs"]]


@pytest.fixture(params=HARNESSES, ids=lambda h: h.name)
def world(request, tmp_path, monkeypatch):
    harness = request.param
    for variable, (value, _) in harness.credentials.items():
        monkeypatch.setenv(variable, value)
    emu = start(EmulatorConfig(state_dir=tmp_path / "emulator", api=harness.api, job_duration=10.0,
                               **harness.emulator))
    root = tmp_path / "proj"
    root.mkdir()
    try:
        yield World(root, emu, harness)
    finally:
        emu.stop()


def pinned(world: World, name: str) -> str:
    model = world.model(name)
    assert model, world.lock_text()
    return model


def test_create_pins_the_model_the_provider_made_and_then_nothing_changes(world):
    world.dataset("data/a.jsonl", 12)
    world.spec("a")
    applied = world.run("apply", "--auto-approve", "--wait")
    assert applied.rc == 0, applied.all
    core = world.core()
    assert world.phases() == ["succeeded"]
    assert pinned(world, "a") in core["models"] or world.lock()["models"]["a"].get("trained_model") in core["models"]
    assert world.run("plan", "--detailed-exitcode").rc == 0


def test_an_interrupted_apply_is_adopted_not_paid_twice(world):
    world.dataset("data/a.jsonl", 12)
    world.spec("a")
    assert world.run("apply", "--auto-approve").rc == 0  # the job starts; the apply ends
    (world.root / "ftops.lock").unlink()  # as if the apply had died before writing anything down
    plan = world.run("plan")
    assert "< adopt    a" in plan.out, plan.all
    applied = world.run("apply", "--auto-approve", "--wait")
    assert applied.rc == 0, applied.all
    assert world.phases() == ["succeeded"]
    assert pinned(world, "a")


def test_a_failed_job_is_shown_with_its_error_and_retried(world):
    world.dataset("data/a.jsonl", 12)
    world.spec("a")
    world.admin("POST", "fail-next", {"code": "quota_exceeded", "message": "no capacity today"})
    failed = world.run("apply", "--auto-approve", "--wait")
    assert failed.rc == 1 and "no capacity today" in failed.out, failed.all
    plan = world.run("plan")
    assert "retry    a" in plan.out and "no capacity today" in plan.out, plan.all
    assert world.run("apply", "--auto-approve", "--wait").rc == 0
    assert world.phases() == ["failed", "succeeded"]
    assert pinned(world, "a")


def test_a_replacement_keeps_the_old_pin_until_it_succeeds(world):
    world.dataset("data/a.jsonl", 12)
    world.spec("a")
    assert world.run("apply", "--auto-approve", "--wait").rc == 0
    old = pinned(world, "a")
    world.dataset("data/a.jsonl", 14)
    started = world.run("apply", "--auto-approve")
    assert started.rc == 0, started.all
    assert world.model("a") == old and world.lock()["models"]["a"]["pending"]["job_id"]
    world.finish_jobs()
    assert world.run("apply", "--auto-approve").rc == 0
    assert pinned(world, "a") != old
    assert world.phases() == ["succeeded", "succeeded"]


def test_a_job_superseded_while_in_flight_is_cancelled(world):
    world.dataset("data/a.jsonl", 12)
    world.spec("a")
    assert world.run("apply", "--auto-approve").rc == 0
    world.dataset("data/a.jsonl", 13)
    applied = world.run("apply", "--auto-approve", "--wait")
    assert applied.rc == 0, applied.all
    assert "cancelled superseded job" in applied.out
    assert world.phases() == ["cancelled", "succeeded"]


def test_a_pinned_model_deleted_on_the_provider_is_drift_and_trains_again(world):
    world.dataset("data/a.jsonl", 12)
    world.spec("a")
    assert world.run("apply", "--auto-approve", "--wait").rc == 0
    (model,) = world.core()["models"]
    world.admin("DELETE", f"models/{model}")
    plan = world.run("plan")
    assert "drift    a" in plan.out, plan.all
    assert world.run("apply", "--auto-approve", "--wait").rc == 0
    assert len(world.core()["models"]) == 1 and world.core()["models"] != [model]


def test_a_job_that_finished_after_apply_returned_is_recorded_without_training(world):
    world.dataset("data/a.jsonl", 12)
    world.spec("a")
    assert world.run("apply", "--auto-approve").rc == 0
    world.finish_jobs()
    plan = world.run("plan")
    assert "= record   a" in plan.out, plan.all
    assert world.run("apply", "--auto-approve").rc == 0
    assert pinned(world, "a") and world.phases() == ["succeeded"]


def test_prune_deletes_the_model_of_a_removed_spec_but_never_a_protected_one(world):
    world.dataset("data/a.jsonl", 12)
    world.dataset("data/b.jsonl", 12, start=40)
    world.spec("a")
    world.spec("b", protect=True)
    assert world.run("apply", "--auto-approve", "--wait").rc == 0
    assert len(world.core()["models"]) == 2
    (world.root / "specs" / "a.yaml").unlink()
    (world.root / "specs" / "b.yaml").unlink()
    pruned = world.run("apply", "--auto-approve", "--prune")
    assert pruned.rc == 0, pruned.all
    assert len(world.core()["models"]) == 1 and world.lock()["models"] == {}


def test_an_eval_gate_pins_a_classifier_that_beats_its_base_and_holds_back_a_worse_one(world):
    from ftops.providers.registry import kind
    from tests.eval import data

    def spec(extra: int) -> None:
        pairs = data.train_pairs()
        data.write(world.root / "data" / "t.jsonl", data.rows(pairs + pairs[:extra]))
        data.write(world.root / "data" / "v.jsonl", data.rows(data.held_out_pairs()))
        world.spec("t", suffix="tickets", training_file="../data/t.jsonl", validation_file="../data/v.jsonl",
                   eval={"metrics": ["accuracy"], "gate": ["accuracy >= 0.8", "accuracy > base",
                                                           "accuracy >= pinned - 0.01"]})

    spec(0)
    applied = world.run("apply", "--auto-approve", "--wait")
    needs_deploy = kind(world.harness.block("")["type"]).capabilities.needs_deploy
    if needs_deploy and world.harness.api != "openai":  # the candidate or its base is not callable undeployed
        assert applied.rc == 1 and world.model("t") is None, applied.all
        assert "not deployed" in applied.out or "deployment for this resource does not exist" in applied.out
        return
    assert applied.rc == 0, applied.all
    good = pinned(world, "t")
    assert world.lock()["models"]["t"]["eval"]["metrics"]["accuracy"]["candidate"] >= 0.9
    spec(2)
    assert world.run("apply", "--auto-approve").rc == 0
    world.admin("POST", f"jobs/{world.lock()['models']['t']['pending']['job_id']}/degrade", {"strength": 1.0})
    held = world.run("apply", "--auto-approve", "--wait")
    assert held.rc == 0 and "held back" in held.out, held.all
    assert world.model("t") == good and world.lock()["models"]["t"]["candidate"]["model"] != good
    assert world.run("plan", "--detailed-exitcode").rc == 0
