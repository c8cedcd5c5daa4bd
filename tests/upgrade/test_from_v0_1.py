"""Upgrading ftops never retrains. ``fixture_v0_1/`` is the example project as ftops 0.1 (commit 9a28076) left it
after `ftops apply --auto-approve --wait` against the built-in local provider: its specs and data, the lockfile it
wrote (version 1, version-1 fingerprints over OpenAI's defaults) and the emulator state holding its jobs and
models. This ftops must plan "no changes" for it, refreshed and not, without touching the lockfile. So must it for
``fixture_v0_2/``, the same project as the previous release left it (0.2.0 as it landed, commit aab3aaa: lockfile
version 2, version-2 fingerprints, before evals, the docs runner and the upload work)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
import yaml

from ftops.cli.context import Runtime
from tests.conftest import Project

FIXTURE = Path(__file__).parent / "fixture_v0_1"
RELEASES = {"0.1": (FIXTURE, 1), "0.2.0": (Path(__file__).parent / "fixture_v0_2", 2)}  # fixture, lockfile version


def _copied(fixture: Path, tmp_path: Path) -> Project:
    root = tmp_path / "example"
    shutil.copytree(fixture, root, ignore=shutil.ignore_patterns("emulator-state"))
    shutil.copytree(fixture / "emulator-state", root / ".ftops" / "local")
    return Project(root, None)


@pytest.fixture
def upgraded(tmp_path) -> Project:
    return _copied(FIXTURE, tmp_path)


@pytest.mark.parametrize("release", sorted(RELEASES))
def test_a_lockfile_written_by_an_earlier_release_plans_no_changes(release, tmp_path):
    fixture, version = RELEASES[release]
    upgraded = _copied(fixture, tmp_path)
    before = (upgraded.root / "ftops.lock").read_bytes()
    assert yaml.safe_load(before)["version"] == version
    for args in (("plan", "--detailed-exitcode"), ("plan", "--no-refresh", "--detailed-exitcode")):
        result = upgraded.run(*args)
        assert result.rc == 0, result.all
        assert "Plan: no changes." in result.out
        assert "unchanged: support-bot, support-bot-followups, ticket-classifier, tone-dpo" in result.out
    status = upgraded.run("status")
    assert status.rc == 0 and "ft:gpt-4o-mini-2024-07-18:ftops-local:support-bot:" in status.out
    assert (upgraded.root / "ftops.lock").read_bytes() == before  # read, never rewritten


def test_after_the_upgrade_a_real_change_replaces_with_its_true_reason_only(upgraded):
    spec = upgraded.root / "specs" / "ticket-classifier.yaml"
    spec.write_text(spec.read_text().replace("n_epochs: 4", "n_epochs: 5"))
    planned = upgraded.run("plan", "--detailed-exitcode")
    assert planned.rc == 2, planned.all
    assert "~ replace  ticket-classifier" in planned.out
    assert "method.hyperparameters.n_epochs: 4 -> 5" in planned.out
    assert "batch_size" not in planned.out and "learning_rate_multiplier" not in planned.out  # no "auto" noise
    assert "unchanged: support-bot, support-bot-followups, tone-dpo" in planned.out
    applied = upgraded.run("apply", "--auto-approve", "--wait", runtime=Runtime(sleep=time.sleep, poll_interval=0.5))
    assert applied.rc == 0, applied.all
    lock = yaml.safe_load((upgraded.root / "ftops.lock").read_text())
    assert lock["version"] == 2
    assert lock["models"]["ticket-classifier"]["fingerprint"].startswith("v2:sha256:")
    assert lock["models"]["support-bot"]["fingerprint"].startswith("sha256:")  # untouched entries keep theirs
    again = upgraded.run("plan", "--detailed-exitcode")
    assert again.rc == 0, again.all


def test_writing_3_0_for_3_is_the_same_number_after_the_upgrade_too(upgraded):
    spec = upgraded.root / "specs" / "support-bot.yaml"
    spec.write_text(spec.read_text().replace("n_epochs: 3,", "n_epochs: 3.0,"))
    planned = upgraded.run("plan", "--detailed-exitcode")
    assert planned.rc == 0, planned.all
    assert "x 10 epochs" not in planned.out
