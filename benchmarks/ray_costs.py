"""What the ray provider costs on this machine: starting a local Ray head, one job's overhead (submit to SUCCEEDED
for a trivial trainer, through ftops's client), and staging a 100 MiB dataset package (time and peak RSS of the
ftops process that does it). Starts and stops its own head exactly as tests/ray do (loopback only, own temp dir,
stopped by its own process group, never `ray stop`).

    .venv/bin/python benchmarks/ray_costs.py [--megabytes 100] [--jobs 5]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.ray.conftest import start_head, stop_head  # noqa: E402

STAGE = """
import hashlib, json, resource, sys, time
from pathlib import Path
from ftops.config import ProviderConfig
from ftops.providers.ray import KIND
path, sha, url, upload = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4] == "1"
client = KIND.open(ProviderConfig("gpu", "ray", {"address": url, "artifacts": "file:///tmp/x"}), None, key=None)
started = time.monotonic()
staged = client.stage_file(path, sha256=sha, role="training") if upload else None
print(json.dumps({"seconds": time.monotonic() - started, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF)
                  .ru_maxrss / 1024, "reused": staged.reused if staged else None}))
"""


def dataset(path: Path, megabytes: int) -> str:
    """Chat rows of varied words (compresses like real text, not like one repeated line)."""
    rng = random.Random(7)
    words = [''.join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9))) for _ in range(5000)]
    digest = hashlib.sha256()
    with open(path, "wb") as fh:
        while fh.tell() < megabytes * 2**20:
            row = {"messages": [{"role": "user", "content": " ".join(rng.choices(words, k=30))},
                                {"role": "assistant", "content": " ".join(rng.choices(words, k=60))}]}
            line = (json.dumps(row) + "\n").encode()
            fh.write(line)
            digest.update(line)
    return digest.hexdigest()


def stage(path: Path, sha: str, url: str, upload: bool) -> dict:
    out = subprocess.run([sys.executable, "-c", STAGE, str(path), sha, url, "1" if upload else "0"],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=5)
    args = parser.parse_args()
    temp = Path(tempfile.mkdtemp(prefix="ftb", dir="/tmp"))
    head = start_head(temp / "r")
    try:
        print(f"Ray head start (ray start --head --block, until /api/version answers): {head.start_seconds:.1f} s")
        from ftops.config import ProviderConfig
        from ftops.launch import LaunchKey
        from ftops.providers.base import TrainingRequest
        from ftops.providers.ray import KIND

        (temp / "data.jsonl").write_text('{"messages": []}\n')
        sha = hashlib.sha256((temp / "data.jsonl").read_bytes()).hexdigest()
        client = KIND.open(ProviderConfig("gpu", "ray", {
            "address": head.url, "artifacts": (temp / "art").as_uri(),
            "trainer": {"entrypoint": "python -c \"open('{output_dir}/model', 'w').write('m')\""}}), None, key=None)
        staged = client.stage_file(temp / "data.jsonl", sha256=sha, role="training")
        overheads = []
        for n in range(args.jobs):
            key = LaunchKey("bench", "trivial", f"v2:sha256:{n:064x}")
            started = time.monotonic()
            job = client.create_job(TrainingRequest(launch=key, base_model="none", method="supervised",
                                                    training_file=staged.id, validation_file=None))
            while job.state not in ("succeeded", "failed", "cancelled"):
                time.sleep(0.05)
                job = client.get_job(job.id)
            overheads.append(time.monotonic() - started)
            assert job.state == "succeeded", job
        client.close()
        print(f"one job, submit to SUCCEEDED (trivial trainer, {args.jobs} runs): median "
              f"{statistics.median(overheads):.2f} s, min {min(overheads):.2f} s, max {max(overheads):.2f} s "
              f"(first {overheads[0]:.2f} s)")
        path = temp / "big.jsonl"
        sha = dataset(path, args.megabytes)
        from ftops.providers.ray.package import stream_data_package

        packed = sum(len(chunk) for chunk in stream_data_package(path, sha))
        baseline = stage(path, sha, head.url, upload=False)
        first = stage(path, sha, head.url, upload=True)
        again = stage(path, sha, head.url, upload=True)
        print(f"{args.megabytes} MiB dataset ({packed / 2**20:.1f} MiB zipped): upload {first['seconds']:.2f} s, "
              f"ftops peak RSS "
              f"{first['peak_rss_mib']:.0f} MiB (the same process without staging: {baseline['peak_rss_mib']:.0f} "
              f"MiB); already there: {again['seconds']:.3f} s (reused={again['reused']})")
    finally:
        stop_head(head.process)
        shutil.rmtree(temp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
