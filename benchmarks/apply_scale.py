"""Apply at scale: `ftops apply --auto-approve --wait` of N independent specs against an emulator process whose jobs
take a fixed time, compared with one spec, in one run (the machine's noise hits both alike). Also reports how
many requests the emulator served, how often ftops.lock was written and the bytes those writes added up to (at
N/2 and N specs: linear growth keeps the bytes per spec flat), and a warm plan's wall time.

    .venv/bin/python benchmarks/apply_scale.py [--specs 200] [--job-duration 20] [--poll 1]

Each apply is a real `python -m ftops` process (start-up included, as in CI). Prints one line per figure.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.reliability.support import KEY_ENV, EmulatorProcess, chat_rows, write_jsonl  # noqa: E402


def project(root: Path, url: str, n: int) -> Path:
    (root / "specs").mkdir(parents=True)
    (root / "ftops.yaml").write_text(yaml.safe_dump({"project": "scale", "default_provider": "emu", "providers": {
        "emu": {"type": "openai", "base_url": url, "api_key_env": KEY_ENV}}}))
    for i in range(n):
        write_jsonl(root / "data" / f"s{i}.jsonl", chat_rows(12, f"s{i}"))
        (root / "specs" / f"s{i}.yaml").write_text(yaml.safe_dump({
            "name": f"s{i}", "base_model": "gpt-4o-mini-2024-07-18", "suffix": f"s{i}",
            "training_file": f"../data/s{i}.jsonl", "method": {"type": "supervised",
                                                              "hyperparameters": {"n_epochs": 2}}}))
    return root


def env(url: str, poll: float) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "FTOPS_"))}
    out.update({KEY_ENV: "bench", "FTOPS_CREDENTIALS": f"{KEY_ENV}={url}", "FTOPS_POLL_INTERVAL": str(poll)})
    return out


def timed(root: Path, url: str, poll: float, *args: str) -> float:
    return run(root, url, poll, *args)[0]


def run(root: Path, url: str, poll: float, *args: str) -> tuple[float, str]:
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "ftops", "-C", str(root), *args], capture_output=True, text=True,
                            env=env(url, poll), stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise SystemExit(f"ftops {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return time.monotonic() - started, result.stderr


def lock_writes(log: str) -> tuple[int, int]:
    """(writes, bytes) from the last `wrote ftops.lock` line `-vv` logs."""
    found = re.findall(r"wrote ftops\.lock: \d+ bytes \(write (\d+), (\d+) bytes in all\)", log)
    return (int(found[-1][0]), int(found[-1][1])) if found else (0, 0)


def one_run(n: int, job_duration: float, poll: float, tmp: Path) -> dict[str, float]:
    with EmulatorProcess(tmp / f"emu-{n}", job_duration=job_duration) as emu:
        root = project(tmp / f"proj-{n}", emu.url, n)
        timed(root, emu.url, poll, "plan")  # warms the dataset cache, as a PR's plan would have
        before = emu.http.get(f"{emu.admin_url}/faults").json()["requests"]
        wall, log = run(root, emu.url, poll, "-vv", "apply", "--auto-approve", "--wait")
        requests = emu.http.get(f"{emu.admin_url}/faults").json()["requests"] - before
        warm_plan = timed(root, emu.url, poll, "plan")
        lock_bytes = (root / "ftops.lock").stat().st_size
        pinned = len(yaml.safe_load((root / "ftops.lock").read_text())["models"])
    assert pinned == n, pinned
    writes, written = lock_writes(log)
    return {"wall_s": wall, "requests": requests, "lock_bytes": lock_bytes, "warm_plan_s": warm_plan,
            "lock_writes": writes, "lock_bytes_written": written, "lock_bytes_written_per_spec": written // n}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", type=int, default=200)
    parser.add_argument("--job-duration", type=float, default=20.0, help="emulator seconds from create to success")
    parser.add_argument("--poll", type=float, default=1.0, help="FTOPS_POLL_INTERVAL for the applies")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ftops-scale-") as tmp:
        one = one_run(1, args.job_duration, args.poll, Path(tmp))
        half = one_run(args.specs // 2, args.job_duration, args.poll, Path(tmp))
        many = one_run(args.specs, args.job_duration, args.poll, Path(tmp))
    print(json.dumps({"job_duration_s": args.job_duration, "one": one, f"n{args.specs // 2}": half,
                      f"n{args.specs}": many, "wall_ratio": round(many["wall_s"] / one["wall_s"], 2),
                      # linear in n: the bytes one apply writes per spec stay flat when n doubles
                      "lock_bytes_written_ratio_per_spec": round(many["lock_bytes_written_per_spec"]
                                                                 / max(1, half["lock_bytes_written_per_spec"]), 2)},
                     indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
