"""Plan and apply under injected faults (429 with retry-after, 5xx, dropped connections, slow answers, and
answers lost after the request landed) reach the same lockfile as a fault-free run: no job or upload twice.

In-process runs: the retry policy's sleeps go through the injected Runtime.sleep (which advances the emulator
clock), so nothing here waits for real except the emulator's own ``slow`` answers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ftops.emulator import EmulatorConfig, start
from tests.conftest import TEST_KEY_ENV, Project
from tests.reliability.support import (SPEC_COUNT, EmulatorProcess, audit, check_converged, make_project,
                                       run_ftops)


def comparable(lock: dict[str, Any]) -> dict[str, Any]:
    """The lockfile without what legitimately differs between two providers: model names, job and file ids,
    timestamps; the child's fingerprint and base model name its parent's (differently named) model."""
    out = {}
    for name, entry in lock["models"].items():
        inputs = {role: ({k: v for k, v in value.items() if k != "file_ids"} if isinstance(value, dict)
                         and "sha256" in value else value) for role, value in entry["inputs"].items()}
        if name == "child":
            assert inputs.pop("base_model") == lock["models"]["parent"]["model"]
        out[name] = {"provider": entry["provider"], "inputs": inputs, "job_status": entry["job"]["status"],
                     "trained_tokens": entry["job"]["trained_tokens"],
                     "fingerprint": entry["fingerprint"] if name != "child" else "(depends on the parent's model)"}
    return out


def new_project(tmp: Path, name: str, **emulator: Any) -> Project:
    emu = start(EmulatorConfig(state_dir=tmp / f"{name}-emulator", job_duration=10.0, **emulator))
    root = make_project(tmp / name, emu.url, key_env=TEST_KEY_ENV)
    return Project(root, emu, bind={TEST_KEY_ENV: emu.url})


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> dict[str, Any]:
    """Plan text and lockfile of a fault-free run (the reference every faulted run must reach)."""
    from tests.conftest import TEST_KEY

    with pytest.MonkeyPatch.context() as env:
        env.setenv(TEST_KEY_ENV, TEST_KEY)
        env.setenv("FTOPS_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "ftops-cache"))
        return _baseline(tmp_path_factory.mktemp("baseline"))


def _baseline(tmp: Path) -> dict[str, Any]:
    project = new_project(tmp, "clean")
    try:
        plan = project.run("plan")
        assert plan.rc == 0, plan.all
        applied = project.run("apply", "--auto-approve", "--wait")
        assert applied.rc == 0, applied.all
        return {"plan": plan.out, "lock": comparable(project.lock())}
    finally:
        project.emu.stop()


def _faulted_run(tmp_path: Path, baseline: dict[str, Any], **faults: Any) -> Project:
    project = new_project(tmp_path, "faulted", **faults)
    try:
        plan = project.run("plan")
        assert plan.rc == 0, plan.all
        assert plan.out == baseline["plan"]
        applied = project.run("apply", "--auto-approve", "--wait")
        assert applied.rc == 0, applied.all
        assert comparable(project.lock()) == baseline["lock"]
        state = project.admin("GET", "state")
        found = audit(state)
        assert len(found.jobs) == SPEC_COUNT, [(j["id"], j["status"]) for j in found.jobs]
        assert check_converged(project.root, state) == []
        again = project.run("plan", "--detailed-exitcode")
        assert again.rc == 0, again.all
        assert project.admin("GET", "faults")["requests"] > 20
        return project
    finally:
        project.emu.stop()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_plan_and_apply_at_fault_rate_0_2_reach_the_fault_free_lockfile(tmp_path, baseline, seed):
    project = _faulted_run(tmp_path, baseline, fault_rate=0.2, seed=seed)
    assert any(s < 5.0 for s in project.sleeps), "no retry slept through the injected sleep"


def test_answers_lost_after_the_request_landed_never_upload_or_create_twice(tmp_path, baseline):
    """drop_after on every kind of request, POSTs included: the request is performed, the answer never comes."""
    project = _faulted_run(tmp_path, baseline, fault_rate=0.3, fault_kinds=("drop_after",), seed=7)
    assert any(s < 5.0 for s in project.sleeps)


def test_retries_are_logged_at_verbose_level(tmp_path):
    with EmulatorProcess(tmp_path / "emu", extra=("--fault-kinds", "429", "--seed", "3")) as emu:
        emu.admin("faults", {"rate": 0.5, "kinds": ["429"], "seed": 3})
        root = make_project(tmp_path / "proj", emu.url)
        quiet = run_ftops(root, "plan")
        assert quiet.returncode == 0, quiet.stderr
        assert "retrying" not in quiet.stderr
        loud = run_ftops(root, "-v", "plan")
    assert loud.returncode == 0, loud.stderr
    assert "INFO ftops.http: retrying GET" in loud.stderr and "status=429" in loud.stderr, loud.stderr


def test_a_provider_that_keeps_failing_is_a_user_error_after_bounded_retries(tmp_path):
    emu = start(EmulatorConfig(state_dir=tmp_path / "emu", fault_rate=1.0, fault_kinds=("503",)))
    try:
        root = make_project(tmp_path / "proj", emu.url, key_env=TEST_KEY_ENV, provider_options={"max_retries": 2})
        project = Project(root, emu, bind={TEST_KEY_ENV: emu.url})
        result = project.run("apply", "--auto-approve")
    finally:
        emu.stop()
    assert result.rc == 1, result.all
    assert "status=503" in result.err and "Traceback" not in result.all
    assert len(project.sleeps) == 2  # two retries, each through the injected sleep
    assert not (root / "ftops.lock").exists() or yaml.safe_load((root / "ftops.lock").read_text())
