"""Warm plan at scale: after `apply` of N specs against an emulator process, how long a no-op `ftops plan` takes
(wall and CPU, median of several runs), how many requests it sends, and what `ftops --help` and `ftops status`
cost and import. Ratios are taken in one run (the machine's noise hits every figure alike).

    .venv/bin/python benchmarks/warm_plan.py [--specs 200] [--runs 5]

Each command is a real `python -m ftops` process (start-up included, as in CI).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.apply_scale import env, project  # noqa: E402
from tests.reliability.support import EmulatorProcess  # noqa: E402

HEAVY = ("jsonschema", "httpx", "pydantic", "deepdiff", "tiktoken", "werkzeug", "ruamel.yaml")
IMPORTS = """
import sys
sys.argv = ["ftops"] + sys.argv[1:]
from ftops.cli.main import run
try:
    run()
except SystemExit:
    pass
sys.stderr.write("IMPORTED " + " ".join(sorted(m for m in {HEAVY!r} if m in sys.modules)) + "\\n")
""".replace("{HEAVY!r}", repr(HEAVY))


def measured(root: Path, url: str, *args: str) -> dict[str, float]:
    """Wall and CPU seconds of one `ftops` process (CPU from the children's rusage: user + system)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "ftops", "-C", str(root), *args], capture_output=True, text=True,
                            env=env(url, 1.0), stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode not in (0, 2):
        raise SystemExit(f"ftops {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu}


def imported(root: Path, url: str, *args: str) -> list[str]:
    result = subprocess.run([sys.executable, "-c", IMPORTS, "-C", str(root), *args], capture_output=True,
                            text=True, env=env(url, 1.0), stdin=subprocess.DEVNULL)
    line = [x for x in result.stderr.splitlines() if x.startswith("IMPORTED")][-1]
    return line.split()[1:]


def median_of(runs: int, root: Path, url: str, *args: str) -> dict[str, float]:
    samples = [measured(root, url, *args) for _ in range(runs)]
    return {k: round(statistics.median(s[k] for s in samples), 3) for k in ("wall", "cpu")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ftops-warm-") as tmp:
        with EmulatorProcess(Path(tmp) / "emu", job_duration=0.5) as emu:
            root = project(Path(tmp) / "proj", emu.url, args.specs)
            measured(root, emu.url, "apply", "--auto-approve", "--wait")
            measured(root, emu.url, "plan")  # the first plan after apply warms nothing more; this one is warm
            before = emu.http.get(f"{emu.admin_url}/faults").json()["requests"]
            plan = median_of(args.runs, root, emu.url, "plan")
            requests = (emu.http.get(f"{emu.admin_url}/faults").json()["requests"] - before) / args.runs
            figures = {
                "specs": args.specs,
                "warm_plan": plan,
                "warm_plan_requests": requests,
                "plan_no_refresh": median_of(args.runs, root, emu.url, "plan", "--no-refresh"),
                "status": median_of(args.runs, root, emu.url, "status"),
                "help": median_of(args.runs, root, emu.url, "--help"),
                "python_start": median_of(args.runs, root, emu.url, "--version"),
                "imports": {cmd: imported(root, emu.url, *cmd.split()) for cmd in ("--help", "status", "plan")},
                "lock_bytes": (root / "ftops.lock").stat().st_size,
            }
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
