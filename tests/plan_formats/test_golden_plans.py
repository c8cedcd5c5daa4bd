"""Each plan situation rendered in all three formats and compared with its golden file (golden/<scenario>.*).

Beyond the golden text, each test checks the facts that matter (action kinds, exit code, the JSON schema), so a
regenerated golden file cannot hide a wrong plan.
"""

from __future__ import annotations

import json

import pytest

from ftops.render.markdown import MARKER
from tests.conftest import TEST_KEY_ENV

from .support import add_bot, assert_golden, delete_model, train, validate_plan


def create(project, monkeypatch):
    add_bot(project, "bot")
    project.dataset("data/classifier.jsonl", 20)
    project.spec("classifier")


def replace(project, monkeypatch):
    train(project, "bot")
    project.dataset("data/bot.jsonl", 20)  # 8 examples more
    project.spec("bot", validation_file="../data/bot-valid.jsonl", seed=11,
                 method={"type": "supervised", "hyperparameters": {"n_epochs": 4}})


def retry(project, monkeypatch):
    project.admin("POST", "fail-next", {"code": "invalid_training_file", "message": "line 3: bad role",
                                        "count": 1})
    add_bot(project, "bot")
    assert project.run("apply", "--auto-approve", "--wait").rc == 1


def forget(project, monkeypatch):
    train(project, "bot", "old")
    (project.root / "specs/old.yaml").unlink()


def drift(project, monkeypatch):
    train(project, "bot")
    delete_model(project, project.model("bot"))


def budget(project, monkeypatch):
    add_bot(project, "bot", budget_usd=0.0001)


def shutdown(project, monkeypatch):
    train(project, "bot")
    monkeypatch.setenv("FTOPS_TODAY", "2026-12-20")


def record(project, monkeypatch):
    add_bot(project, "bot", seed=7)  # the emulator's metrics follow the seed: the chart is the same every run
    assert project.run("apply", "--auto-approve").rc == 0  # the job starts; the apply ends
    project.finish_jobs()  # it succeeded; the lockfile does not know yet (the PR comment charts its loss)


def no_refresh(project, monkeypatch):
    train(project, "bot")
    add_bot(project, "next")
    monkeypatch.delenv(TEST_KEY_ENV)  # --no-refresh needs no credentials


def held_back(project, monkeypatch):
    """A ticket classifier with an eval gate is pinned; its replacement, made worse, is held back."""
    from tests.eval import data

    def spec(extra: int) -> None:
        pairs = data.train_pairs()
        data.write(project.root / "data" / "tickets.jsonl", data.rows(pairs + pairs[:extra]))
        data.write(project.root / "data" / "held.jsonl", data.rows(data.held_out_pairs()))
        project.spec("tickets", training_file="../data/tickets.jsonl", validation_file="../data/held.jsonl",
                     eval={"metrics": ["accuracy", "macro_f1"], "gate": ["accuracy >= 0.8",
                                                                       "accuracy >= pinned - 0.01"]})

    spec(0)
    assert project.run("apply", "--auto-approve", "--wait").rc == 0
    spec(2)
    assert project.run("apply", "--auto-approve").rc == 0
    project.admin("POST", f"jobs/{project.lock()['models']['tickets']['pending']['job_id']}/degrade",
                  {"strength": 1.0})
    assert "held back" in project.run("apply", "--auto-approve", "--wait").out
    add_bot(project, "bot", eval={"metrics": ["exact_match"]})  # a new spec: its eval runs in apply


SCENARIOS = {  # scenario -> (extra plan args, action kinds, exit code)
    create: ((), ["create", "create"], 0),
    replace: ((), ["replace"], 0),
    retry: ((), ["retry"], 0),
    forget: ((), ["forget"], 0),
    drift: ((), ["drift"], 0),
    budget: ((), ["create"], 1),
    shutdown: ((), [], 0),
    no_refresh: (("--no-refresh",), ["create"], 0),
    record: ((), ["record"], 0),
    held_back: ((), ["create"], 0),
}
FORMATS = {"text": "txt", "markdown": "md", "json": "json"}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_plan_matches_golden_files_in_every_format(project, monkeypatch, scenario):
    scenario(project, monkeypatch)
    args, kinds, rc = SCENARIOS[scenario]
    outputs = {}
    for fmt, ext in FORMATS.items():
        result = project.run("plan", "--format", fmt, *args)
        assert result.rc == rc, result.all
        outputs[fmt] = result.out
        assert_golden(f"{scenario.__name__}.{ext}", result.out)
    document = json.loads(outputs["json"])
    validate_plan(document)
    assert [a["kind"] for a in document["actions"]] == kinds
    assert document["has_errors"] == (rc == 1)
    assert document["refreshed"] == ("--no-refresh" not in args)
    assert outputs["markdown"].splitlines()[0] == MARKER
    if scenario is record:  # a finished job's loss curve, in its spec's details
        assert "```mermaid\nxychart-beta\n" in outputs["markdown"]
        assert outputs["markdown"].index("<details>") < outputs["markdown"].index("```mermaid")
