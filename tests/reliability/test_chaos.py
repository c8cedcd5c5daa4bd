"""apply never double-spends: SIGKILL `ftops apply --wait` (a real process) at random moments, run it again until
it finishes, and check the emulator's own records (benchmarks/chaos.py runs the same with 300 kill points)."""

from __future__ import annotations

import os

from tests.reliability.chaos import run_chaos
from tests.reliability.support import FIREWORKS, TOGETHER

SEED = int(os.environ.get("FTOPS_CHAOS_SEED", "20261121"))


def test_apply_killed_at_random_moments_converges_without_spending_twice(tmp_path):
    report = run_chaos(seed=SEED, kill_points=30, workdir=tmp_path)
    print(report.summary())
    assert report.kills >= 30
    assert report.problems == [], report.summary()
    assert report.lockfile_invalid == 0 and report.duplicate_jobs == 0 and report.duplicate_uploads == 0
    assert set(report.jobs_per_fingerprint) == {1}, report.summary()
    # the kills landed in the phases that matter, not only while Python was starting up
    assert sum(n for phase, n in report.phases.items() if phase not in ("startup", "planned")) >= 10, \
        report.summary()


def test_apply_on_together_killed_at_random_moments_converges_without_spending_twice(tmp_path):
    """A shorter round on Together's API, whose jobs carry only 8 characters of the launch key (in the suffix)."""
    report = run_chaos(seed=SEED, kill_points=10, lanes=2, kills_per_generation=5, workdir=tmp_path, flavor=TOGETHER)
    print(report.summary())
    assert report.kills >= 10
    assert report.problems == [], report.summary()
    assert report.lockfile_invalid == 0 and report.duplicate_jobs == 0 and report.duplicate_uploads == 0
    assert set(report.jobs_per_fingerprint) == {1}, report.summary()


def test_fireworks_apply_killed_at_random_moments_converges_without_spending_twice(tmp_path):
    """The same on a fireworks provider, whose client-chosen ids (not a lease) keep jobs and datasets single."""
    report = run_chaos(seed=SEED, kill_points=12, kills_per_generation=6, workdir=tmp_path,
                       flavor=FIREWORKS)
    print(report.summary())
    assert report.kills >= 12
    assert report.problems == [], report.summary()
    assert report.lockfile_invalid == 0 and report.duplicate_jobs == 0 and report.duplicate_uploads == 0
    assert set(report.jobs_per_fingerprint) == {1}, report.summary()
    assert sum(n for phase, n in report.phases.items() if phase not in ("startup", "planned")) >= 3, \
        report.summary()
