"""Two applies on one checkout (real processes): one set of jobs; the loser names the holder and exits 1; with
--lock-timeout the second waits for the first and then finds nothing to do."""

from __future__ import annotations

from tests.reliability.support import (SPEC_COUNT, EmulatorProcess, Spawned, audit, check_converged, make_project,
                                       run_ftops)


def test_second_apply_names_the_holder_and_a_waiting_one_finds_nothing_to_do(tmp_path):
    with EmulatorProcess(tmp_path / "emu", job_duration=2.0) as emu:
        root = make_project(tmp_path / "proj", emu.url)
        first = Spawned(root, "apply", "--auto-approve", "--wait")
        assert first.wait_for_output("Plan:", timeout=60), first.stderr
        patient = Spawned(root, "apply", "--auto-approve", "--wait", "--lock-timeout", "120")
        loser = run_ftops(root, "apply", "--auto-approve", "--wait")
        assert first.proc.poll() is None, "the first apply finished too early to test the lock"
        assert loser.returncode == 1, loser.stdout + loser.stderr
        assert "another ftops run holds the project lock: `ftops apply`" in loser.stderr
        assert f"(pid {first.proc.pid} on " in loser.stderr
        assert "--lock-timeout" in loser.stderr and "Traceback" not in loser.stderr
        assert loser.stdout == ""  # it planned nothing and touched nothing

        assert first.finish(timeout=120) == 0, first.stderr
        assert patient.finish(timeout=120) == 0, patient.stderr
        assert "Nothing to do." in patient.stdout, patient.stdout
        state = emu.state()
    assert len(audit(state).jobs) == SPEC_COUNT
    assert check_converged(root, state) == []
