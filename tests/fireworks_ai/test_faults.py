"""A fireworks project planned and applied while the emulator injects faults (429 with retry-after, 5xx, dropped
connections, slow answers, answers lost after the request landed) ends as a fault-free run does: every spec
pinned, one job per launch key, one dataset per content."""

from __future__ import annotations

import pytest

from ftops.emulator import EmulatorConfig, start
from tests.conftest import TEST_KEY_ENV, Project
from tests.reliability.support import FIREWORKS, SPEC_COUNT, audit, check_converged, make_project


@pytest.mark.parametrize("seed", [1, 2])
def test_apply_under_faults_creates_nothing_twice_and_converges(tmp_path, seed):
    emu = start(EmulatorConfig(state_dir=tmp_path / "emulator", api="fireworks", job_duration=10.0,
                               fault_rate=0.2, seed=seed))
    try:
        root = make_project(tmp_path / "proj", emu.url, key_env=TEST_KEY_ENV, flavor=FIREWORKS)
        project = Project(root, emu, bind={TEST_KEY_ENV: emu.url})
        applied = project.run("apply", "--auto-approve", "--wait")
        assert applied.rc == 0, applied.all
        state = project.admin("GET", "state")
        assert check_converged(root, state, flavor=FIREWORKS) == []
        found = audit(state, flavor=FIREWORKS)
        assert len(found.jobs) == SPEC_COUNT and found.duplicate_uploads == 0
        # a dataset whose upload answer was lost is UPLOADING and is uploaded again (the same content, the same
        # dataset: what lands in it is always bytes this apply hashed); none is ever duplicated
        assert len(state["datasets"]) == 4 and all(d["state"] == "READY" for d in state["datasets"])
        assert project.run("plan", "--detailed-exitcode").rc == 0
        assert project.admin("GET", "faults")["requests"] > 20
    finally:
        emu.stop()
