"""Ctrl-C during `apply --wait` (SIGINT to a real process): the current write finishes, what is in flight is
listed with how to pick it up, exit 130; the lockfile is valid and the next apply adopts, never duplicates."""

from __future__ import annotations

import signal

import yaml

from tests.reliability.support import (SPEC_COUNT, EmulatorProcess, Spawned, audit, check_converged,
                                       lockfile_valid, make_project, run_ftops)


def test_ctrl_c_lists_jobs_in_flight_exits_130_and_the_next_apply_adopts_them(tmp_path):
    with EmulatorProcess(tmp_path / "emu", job_duration=2.0) as emu:
        root = make_project(tmp_path / "proj", emu.url)
        apply = Spawned(root, "apply", "--auto-approve", "--wait")
        assert apply.wait_for_output("validating_files", timeout=60), apply.stdout + apply.stderr
        apply.proc.send_signal(signal.SIGINT)
        rc = apply.finish(timeout=30)
        assert rc == 130, apply.stdout + apply.stderr
        assert "Interrupted. The lockfile is consistent; in flight:" in apply.stderr
        assert "Run `ftops apply` again to pick them up" in apply.stderr
        assert "Not started yet: child." in apply.stderr  # it waits for its parent's model
        assert "Traceback" not in apply.stderr
        assert lockfile_valid(root) is None
        lock = yaml.safe_load((root / "ftops.lock").read_text())
        in_flight = {name: e["pending"]["job_id"] for name, e in lock["models"].items()
                     if (e.get("pending") or {}).get("job_id")}
        assert in_flight, lock
        for name, job_id in in_flight.items():
            assert f"  {name}: job {job_id} " in apply.stderr
        before = {j["id"] for j in audit(emu.state()).jobs}
        assert set(in_flight.values()) <= before

        resumed = run_ftops(root, "apply", "--auto-approve", "--wait")
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        state = emu.state()
    jobs = audit(state).jobs
    assert len(jobs) == SPEC_COUNT  # the interrupted jobs were adopted, only the child started since
    assert before <= {j["id"] for j in jobs}
    assert check_converged(root, state) == []


def test_ctrl_c_before_any_job_exists_exits_130_with_a_valid_lockfile(tmp_path):
    with EmulatorProcess(tmp_path / "emu", job_duration=0.5) as emu:
        root = make_project(tmp_path / "proj", emu.url)
        apply = Spawned(root, "apply", "--auto-approve", "--wait")
        assert apply.wait_for_output("Plan:", timeout=60)
        apply.proc.send_signal(signal.SIGINT)
        assert apply.finish(timeout=30) == 130, apply.stdout + apply.stderr
        assert "Traceback" not in apply.stderr
        assert lockfile_valid(root) is None
        assert run_ftops(root, "apply", "--auto-approve", "--wait").returncode == 0
        state = emu.state()
    assert check_converged(root, state) == []


def test_a_temp_file_left_by_a_writer_killed_mid_write_is_cleared_by_the_next_apply(tmp_path):
    with EmulatorProcess(tmp_path / "emu", job_duration=0.5) as emu:
        root = make_project(tmp_path / "proj", emu.url)
        (root / ".ftops.lock.k1ll3d.tmp").write_text("version: 1\nmodels:\n  half-writ")
        assert run_ftops(root, "apply", "--auto-approve", "--wait").returncode == 0
        state = emu.state()
    assert not list(root.glob(".ftops.lock.*.tmp"))
    assert check_converged(root, state) == []
