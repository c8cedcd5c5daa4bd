"""`ftops plan --out FILE` then `ftops apply FILE`: exactly that plan, once, or a clear refusal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import TEST_KEY

from .support import add_bot, delete_model, validate_plan


def at(project, name: str = "plan.json") -> str:
    """A plan file's path (absolute: relative ones resolve against the working directory, not -C)."""
    return str(project.root / name)


@pytest.fixture
def planned(project):
    """A project with one new spec and a saved plan to create it."""
    add_bot(project, "bot")
    result = project.run("plan", "--out", at(project))
    assert result.rc == 0, result.all
    return project


def _saved(project) -> dict:
    return json.loads(Path(at(project)).read_text(encoding="utf-8"))


def test_saved_plan_is_a_valid_plan_document_without_secrets(planned):
    text = Path(at(planned)).read_text(encoding="utf-8")
    document = json.loads(text)

    validate_plan(document)
    assert [a["kind"] for a in document["actions"]] == ["create"]
    saved = document["saved"]
    assert set(saved["spec_files"]) == {"specs/bot.yaml"}
    assert set(saved["datasets"]) == {"data/bot.jsonl", "data/bot-valid.jsonl"}
    assert saved["lockfile"] is None and saved["applied_at"] is None
    assert TEST_KEY not in text


def test_apply_of_saved_plan_applies_it_and_marks_it_applied(planned):
    result = planned.run("apply", at(planned), "--auto-approve", "--wait")

    assert result.rc == 0, result.all
    assert planned.model("bot").startswith("ft:gpt-4o-mini-2024-07-18:")
    assert _saved(planned)["saved"]["applied_at"]


def test_saved_plan_is_refused_the_second_time(planned):
    assert planned.run("apply", at(planned), "--auto-approve", "--wait").rc == 0
    jobs = len(planned.jobs())

    again = planned.run("apply", at(planned), "--auto-approve", "--wait")

    assert again.rc == 1
    assert "already applied" in again.err
    assert len(planned.jobs()) == jobs


def test_a_saved_plan_is_applied_without_a_terminal_and_without_auto_approve(planned, no_terminal):
    """Saving the plan after review was the approval (as `terraform apply PLANFILE`): CI applies it as it is."""
    result = planned.run("apply", at(planned), "--wait")

    assert result.rc == 0, result.all
    assert "Apply these changes?" not in result.all
    assert planned.model("bot").startswith("ft:gpt-4o-mini-2024-07-18:")
    assert _saved(planned)["saved"]["applied_at"]


def test_a_saved_plan_that_no_longer_matches_is_refused_without_auto_approve_too(planned, no_terminal):
    _edit_dataset(planned)

    result = planned.run("apply", at(planned), "--wait")

    assert result.rc == 1 and "is stale" in result.err and "dataset data/bot.jsonl changed" in result.err
    assert planned.jobs() == []


def _edit_spec(project):
    add_bot(project, "bot", seed=3)


def _edit_dataset(project):
    project.dataset("data/bot.jsonl", 13)


def _add_spec(project):
    add_bot(project, "other")


def _edit_lockfile(project):
    (project.root / "ftops.lock").write_text("version: 1\nmodels: {}\n", encoding="utf-8")


@pytest.mark.parametrize("change, reason", [
    (_edit_spec, "spec file specs/bot.yaml changed"),
    (_edit_dataset, "dataset data/bot.jsonl changed"),
    (_add_spec, "spec file specs/other.yaml was added"),
    (_edit_lockfile, "the lockfile changed"),
], ids=["spec", "dataset", "new-spec", "lockfile"])
def test_stale_saved_plan_is_refused_naming_what_changed(planned, change, reason):
    change(planned)

    result = planned.run("apply", at(planned), "--auto-approve", "--wait")

    assert result.rc == 1
    assert "is stale" in result.err and reason in result.err
    assert planned.jobs() == []
    assert "Traceback" not in result.all


def test_saved_plan_is_refused_when_the_provider_changed_since(applied):
    assert applied.run("plan", "--out", at(applied)).rc == 0  # nothing to do
    delete_model(applied, applied.model("bot"))  # now the fresh plan would retrain (drift)

    result = applied.run("apply", at(applied), "--auto-approve", "--wait")

    assert result.rc == 1
    assert "it would now drift bot, but the saved plan says nothing" in result.err
    assert len(applied.jobs()) == 1


def test_saved_plan_keeps_its_targets(project):
    add_bot(project, "bot")
    add_bot(project, "other")
    assert project.run("plan", "--out", at(project), "--target", "bot").rc == 0

    result = project.run("apply", at(project), "--auto-approve", "--wait")

    assert result.rc == 0, result.all
    assert project.model("bot") and not project.model("other")


@pytest.mark.parametrize("content, message", [
    (None, "no saved plan at"),
    ("{not json", "is not a saved ftops plan"),
    ('{"format_version": 99}', "format_version 99"),
    ('{"format_version": 1, "saved": {"prune": "yes"}}', "is not a valid saved plan"),
], ids=["missing", "not-json", "future-version", "corrupt"])
def test_bad_plan_file_is_a_user_error(planned, content, message):
    path = Path(at(planned))
    if content is None:
        path.unlink()
    else:
        path.write_text(content, encoding="utf-8")

    result = planned.run("apply", at(planned), "--auto-approve")

    assert result.rc == 1
    assert message in result.err
    assert "Traceback" not in result.all


def test_printed_json_plan_cannot_be_applied(planned):
    printed = planned.run("plan", "--format", "json")
    Path(at(planned, "printed.json")).write_text(printed.out, encoding="utf-8")

    result = planned.run("apply", at(planned, "printed.json"), "--auto-approve")

    assert result.rc == 1
    assert "not saved with `ftops plan --out FILE`" in result.err


def test_saved_plan_is_refused_when_the_job_it_adopts_was_replaced(project):
    import shutil

    import httpx

    from tests.conftest import Project

    add_bot(project, "bot")
    assert project.run("apply", "--auto-approve").rc == 0  # job 1 runs; this checkout's lock knows it
    other = Project(project.root.parent / "other-checkout", project.emu)  # same specs and data, no lockfile
    shutil.copytree(project.root, other.root, ignore=shutil.ignore_patterns(".ftops", "ftops.lock"))
    (first,) = [job["id"] for job in project.jobs()]
    assert other.run("plan", "--out", at(other)).rc == 0
    assert [(a["kind"], a["job_id"]) for a in _saved(other)["actions"]] == [("adopt", first)]
    httpx.post(f"{project.emu.url}/fine_tuning/jobs/{first}/cancel",
               headers={"Authorization": f"Bearer {TEST_KEY}"}).raise_for_status()
    assert project.run("apply", "--auto-approve", "--retry", "bot").rc == 0  # the first checkout retries: job 2
    (second,) = [job["id"] for job in project.jobs() if job["id"] != first]

    result = other.run("apply", at(other), "--auto-approve")

    assert result.rc == 1, result.all
    assert f"adopt bot (job {second})" in result.err and f"adopt bot (job {first})" in result.err
    assert other.lock() == {}


@pytest.mark.parametrize("where", ["no-such-dir/plan.json", "."], ids=["missing-dir", "a-directory"])
def test_a_plan_file_that_cannot_be_written_is_a_user_error_naming_it(project, where):
    add_bot(project, "bot")
    target = str(project.root / where)

    result = project.run("plan", "--out", target)

    assert result.rc == 1, result.all
    assert f"cannot write the plan to {target}" in result.err
    assert "Traceback" not in result.all
    assert not list(project.root.parent.glob("**/.*.tmp"))
