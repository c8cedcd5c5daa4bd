"""The eval gate through the CLI against the emulator: a classifier fine-tune beats its base model on held-out data
and its pin moves; a model made worse is held back with its numbers shown (plan, PR comment, JSON plan) and the old
pin kept, without training again; ``--accept`` moves the pin; a changed eval evaluates the held-back candidate
again; ``ftops eval`` prints the table."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml

from tests.eval import data

GATE = ["accuracy >= 0.8", "accuracy >= pinned - 0.01", "accuracy > base"]
PLAN_SCHEMA = json.loads((Path(__file__).parents[2] / "schemas" / "plan.schema.json").read_text())
LOCK_SCHEMA = json.loads((Path(__file__).parents[2] / "schemas" / "lockfile.schema.json").read_text())


def classifier(project, *, gate=GATE, extra: int = 0, **eval_block) -> None:
    pairs = data.train_pairs()
    data.write(project.root / "data" / "tickets.jsonl", data.rows(pairs + pairs[:extra]))
    data.write(project.root / "data" / "held.jsonl", data.rows(data.held_out_pairs()))
    project.spec("tickets", training_file="../data/tickets.jsonl", validation_file="../data/held.jsonl",
                 eval={"metrics": ["accuracy", "macro_f1", "per_class"], "gate": gate, **eval_block})


def entry(project) -> dict:
    return project.lock()["models"]["tickets"]


def test_a_classifier_beats_its_base_model_on_held_out_data_and_the_pin_moves(project):
    classifier(project)
    planned = project.run("plan")
    assert planned.rc == 0, planned.all
    assert "Evals:" in planned.out and "apply evaluates the new model (30 calls" in planned.out
    applied = project.run("apply", "--auto-approve", "--wait")
    assert applied.rc == 0, applied.all
    pinned = entry(project)
    assert pinned["model"].startswith("ft:gpt-4o-mini-2024-07-18:") and "candidate" not in pinned
    evaluated = pinned["eval"]
    assert evaluated["passed"] and evaluated["models"] == {"candidate": pinned["model"],
                                                           "base": "gpt-4o-mini-2024-07-18"}
    assert evaluated["metrics"]["accuracy"]["candidate"] >= 0.9 and evaluated["metrics"]["accuracy"]["base"] == 0.0
    assert evaluated["data"] == {"path": "data/held.jsonl", "sha256": evaluated["data"]["sha256"], "examples": 15}
    assert "pinned ft:" in applied.out and "eval: accuracy 1" in applied.out
    jsonschema.validate(project.lock(), LOCK_SCHEMA)
    again = project.run("plan", "--detailed-exitcode", "--format", "json")
    assert again.rc == 0, again.all
    document = json.loads(again.out)
    jsonschema.validate(document, PLAN_SCHEMA)
    (view,) = document["evals"]
    assert view["status"] == "pinned" and view["passed"] is True
    accuracy = next(m for m in view["metrics"] if m["metric"] == "accuracy")
    assert accuracy["pinned"] >= 0.9 and accuracy["base"] == 0.0 and accuracy["passed"] is True


def _held_back(project) -> tuple[str, str]:
    """Pin a good classifier, then train a replacement that is made worse while it trains: held back."""
    classifier(project)
    assert project.run("apply", "--auto-approve", "--wait").rc == 0
    good = entry(project)["model"]
    classifier(project, extra=3)  # new training data: a replacement is trained
    started = project.run("apply", "--auto-approve")
    assert started.rc == 0, started.all
    project.admin("POST", f"jobs/{entry(project)['pending']['job_id']}/degrade", {"strength": 0.8})
    held = project.run("apply", "--auto-approve", "--wait")
    assert held.rc == 0, held.all
    assert "held back by the eval gate" in held.out and "1 held back" in held.out
    return good, entry(project)["candidate"]["model"]


def test_a_model_made_worse_is_held_back_with_its_numbers_and_the_old_pin_stays(project):
    good, worse = _held_back(project)
    locked = entry(project)
    assert locked["model"] == good and worse != good and "pending" not in locked
    record = locked["candidate"]["eval"]
    assert record["passed"] is False and record["models"]["pinned"] == good
    assert record["metrics"]["accuracy"]["candidate"] < record["metrics"]["accuracy"]["pinned"] - 0.01
    assert [c["rule"] for c in record["gate"] if not c["passed"]][:2] == ["accuracy >= 0.8",
                                                                            "accuracy >= pinned - 0.01"]
    jsonschema.validate(project.lock(), LOCK_SCHEMA)
    jobs = len(project.jobs())
    plan = project.run("plan", "--detailed-exitcode")
    assert plan.rc == 0, plan.all  # nothing to train: the candidate was trained for these very inputs
    assert f"candidate {worse} held back" in plan.out and f"{good} stays pinned" in plan.out
    assert "--accept tickets" in plan.out
    comment = project.run("plan", "--format", "markdown").out
    assert "candidate held back" in comment and "| `accuracy` |" in comment
    document = json.loads(project.run("plan", "--format", "json").out)
    jsonschema.validate(document, PLAN_SCHEMA)
    (view,) = document["evals"]
    assert view["status"] == "held_back" and view["passed"] is False and view["models"]["candidate"] == worse
    row = next(m for m in view["metrics"] if m["metric"] == "accuracy")
    assert row["candidate"] < row["pinned"] and row["passed"] is False
    assert project.run("apply", "--auto-approve", "--wait").all.count("Nothing to do") == 1
    assert len(project.jobs()) == jobs  # no job was started again


def test_accept_pins_the_held_back_candidate(project):
    good, worse = _held_back(project)
    refused = project.run("apply", "--auto-approve", "--accept", "nope")
    assert refused.rc == 1 and "--accept names no spec: nope" in refused.err
    accepted = project.run("apply", "--auto-approve", "--wait", "--accept", "tickets")
    assert accepted.rc == 0, accepted.all
    locked = entry(project)
    assert locked["model"] == worse and "candidate" not in locked and locked["eval"]["accepted"] is True
    assert project.run("plan", "--detailed-exitcode").rc == 0
    again = project.run("apply", "--auto-approve", "--accept", "tickets")
    assert again.rc == 1 and "no candidate held back" in again.err


def test_a_changed_eval_evaluates_the_held_back_candidate_again(project):
    good, worse = _held_back(project)
    classifier(project, extra=3, gate=["accuracy >= 0"])  # a looser gate; the same training inputs
    plan = project.run("plan")
    assert "the eval changed since candidate" in plan.out and "record" in plan.out
    applied = project.run("apply", "--auto-approve", "--wait")
    assert applied.rc == 0, applied.all
    assert entry(project)["model"] == worse and entry(project)["eval"]["passed"] is True


def test_ftops_eval_prints_base_pinned_and_candidate(project):
    good, worse = _held_back(project)
    shown = project.run("eval", "tickets")
    assert shown.rc == 0, shown.all
    assert f"candidate: {worse}" in shown.out and f"pinned: {good}" in shown.out and "(cached)" in shown.out
    assert "gate FAILED" in shown.out and "accuracy" in shown.out
    as_json = json.loads(project.run("eval", "tickets", "--json", "--model", good).out)
    assert as_json["models"]["candidate"] == good and as_json["passed"] is True
    row = next(m for m in as_json["metrics"] if m["metric"] == "accuracy")
    assert row["candidate"] == row["pinned"] if "pinned" in as_json["models"] else row["candidate"] >= 0.9
    missing = project.run("eval", "nope")
    assert missing.rc == 1 and "no spec named 'nope'" in missing.err


def test_the_eval_never_retrains_and_its_budget_is_checked_in_the_plan(project):
    classifier(project)
    assert project.run("apply", "--auto-approve", "--wait").rc == 0
    classifier(project, gate=["accuracy >= 0.5"])
    assert project.run("plan", "--detailed-exitcode").rc == 0  # an eval change alone trains nothing
    classifier(project, extra=1, budget_tokens=100)
    over = project.run("plan")
    assert over.rc == 1 and "over eval.budget_tokens 100" in over.all
    classifier(project, extra=1, budget_usd=0.000001)
    priced = project.run("plan")
    assert priced.rc == 1 and "over eval.budget_usd" in priced.all
    document = json.loads(project.run("plan", "--format", "json").out)
    estimate = document["evals"][0]["estimate"]
    assert estimate["calls"] == 45 and estimate["usd"] > 0 and estimate["max_tokens"] > estimate["tokens"]


def test_after_a_deploy_step_the_deployed_name_is_what_is_evaluated(tmp_path):
    from ftops.emulator import EmulatorConfig, start
    from tests.fireworks_ai.test_cli import ACCOUNT, FwProject

    emu = start(EmulatorConfig(state_dir=tmp_path / "emulator", api="fireworks", job_duration=10.0))
    try:
        root = tmp_path / "proj"
        root.mkdir()
        fw = FwProject(root, emu)
        deployment = fw.deployment("prod")
        data.write(root / "data" / "tickets.jsonl", data.rows(data.train_pairs()))
        data.write(root / "data" / "held.jsonl", data.rows(data.held_out_pairs()))
        fw.spec("tickets", suffix="tickets", training_file="../data/tickets.jsonl",
                validation_file="../data/held.jsonl", deploy={"deployment": "prod"},
                eval={"metrics": ["accuracy"], "gate": ["accuracy >= 0.8", "accuracy > base"]})
        applied = fw.run("apply", "--auto-approve", "--wait")
        assert applied.rc == 0, applied.all
        locked = fw.lock()["models"]["tickets"]
        assert locked["model"].endswith(f"#{deployment}") and locked["model"].startswith(f"accounts/{ACCOUNT}/")
        assert locked["eval"]["models"]["candidate"] == locked["model"]  # the name applications call
        assert locked["eval"]["models"]["base"] == "accounts/fireworks/models/qwen3-8b"
        assert locked["eval"]["metrics"]["accuracy"]["candidate"] >= 0.9
    finally:
        emu.stop()


def test_evals_survive_injected_faults_retrying_as_training_calls_do(project):
    config = yaml.safe_load((project.root / "ftops.yaml").read_text())
    config["providers"]["emu"]["max_retries"] = 10
    (project.root / "ftops.yaml").write_text(yaml.safe_dump(config))
    classifier(project)
    project.admin("POST", "faults", {"rate": 0.25, "kinds": ["429", "500", "503"], "seed": 11})
    applied = project.run("apply", "--auto-approve", "--wait")
    assert applied.rc == 0, applied.all
    assert entry(project)["eval"]["metrics"]["accuracy"]["candidate"] >= 0.9
    assert project.admin("GET", "faults")["requests"] > 30
