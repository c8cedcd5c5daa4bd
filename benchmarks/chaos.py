"""Chaos benchmark: SIGKILL `ftops apply --wait` (a real process) at 300 random moments and report what the
emulator recorded. The same engine as tests/reliability/test_chaos.py (which uses 30 kill points).

    .venv/bin/python benchmarks/chaos.py [--kills 300] [--seed N] [--lanes 2] [--provider openai|together]

Exit status 0 when there were no duplicate jobs, no duplicate uploads, no invalid lockfile and no other problem.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.reliability.chaos import run_chaos  # noqa: E402
from tests.reliability.support import FLAVORS  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=300, help="kill points (default 300)")
    parser.add_argument("--seed", type=int, default=20261121)
    parser.add_argument("--lanes", type=int, default=2, help="projects killed side by side (default 2)")
    parser.add_argument("--job-duration", type=float, default=1.5, help="emulator job duration in seconds")
    parser.add_argument("--provider", choices=sorted(FLAVORS), default="openai",
                        help="provider type (and the emulator dialect standing in for it)")
    args = parser.parse_args()
    report = run_chaos(seed=args.seed, kill_points=args.kills, lanes=args.lanes, job_duration=args.job_duration,
                       flavor=FLAVORS[args.provider])
    print(report.summary())
    clean = not report.problems and not report.duplicate_jobs and not report.duplicate_uploads \
        and not report.lockfile_invalid
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
