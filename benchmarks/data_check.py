"""Benchmark: `ftops data check` against the cookbook's way of checking a chat fine-tuning file.

Generates a chat JSONL file (~200 MiB by default; realistic varied text, some rows with tools, tool calls and
content parts) in a temp dir, then runs, each in its own subprocess:
  cold     check_file with an empty cache (sha256 + parse + checks + token counts, both cores)
  warm     check_file again with the cache from the cold run
  baseline the cookbook notebook as people copy it: load all lines, json.loads all, format checks, encode every
           message value (and the assistant ones again) with tiktoken (cl100k_base, as it does), distributions
and prints the check's time (imports excluded) and the whole process's, CPU seconds (the process and its pool
workers), peak RSS (the largest process) and peak total PSS of the process tree (sampled from /proc), and the
ratios. On a shared machine the wall times depend on what else runs; the CPU seconds much less.

    .venv/bin/python benchmarks/data_check.py [--size-mib 200] [--keep DIR] [--skip-baseline]
                                              [--baseline-encoding cl100k_base|o200k_base]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from data_check_corpus import write_chat_file  # noqa: E402

RUNNER = HERE / "data_check_run.py"


def _tree_pss_kib(pid: int) -> int:
    """Sum of Pss over a process and its descendants (shared pages counted once overall)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in open(f"/proc/{p}/smaps_rollup"):
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
            for task in os.listdir(f"/proc/{p}/task"):
                todo += [int(c) for c in open(f"/proc/{p}/task/{task}/children").read().split()]
        except (OSError, ValueError):
            continue
    return total


def run(mode: str, path: Path, cache: Path, *extra: str) -> dict:
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(RUNNER), mode, str(path), str(cache), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    peak, done = [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _tree_pss_kib(proc.pid))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    done.set()
    sampler.join()
    if proc.returncode:
        raise SystemExit(f"{mode} run failed with exit code {proc.returncode}")
    result = json.loads(out.strip().splitlines()[-1])
    result.update(wall_s=time.perf_counter() - start, pss_mib=peak[0] / 1024)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=float, default=200)
    parser.add_argument("--keep", type=Path, help="write the data here (and keep it) instead of a temp dir")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--baseline-encoding", default="cl100k_base", choices=["cl100k_base", "o200k_base"],
                        help="the cookbook uses cl100k_base; o200k_base is what ftops uses for gpt-4o-mini")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ftops-bench-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "train.jsonl"
        t = time.perf_counter()
        rows = write_chat_file(path, int(args.size_mib * (1 << 20)))
        size = path.stat().st_size
        print(f"data: {path} {size / (1 << 20):.1f} MiB, {rows:,} examples (generated in {time.perf_counter() - t:.1f} s)")
        cache = Path(tmp) / ".ftops"
        load = os.getloadavg()[0]
        results = {"cold": run("ftops", path, cache), "warm": run("ftops", path, cache)}
        if not args.skip_baseline:
            results["baseline"] = run("baseline", path, cache, args.baseline_encoding)
        print(f"cores: {os.cpu_count()}, load average before the runs: {load:.2f} (other work on the machine "
              "slows the runs down; CPU seconds are steadier than wall times)")
        for name, r in results.items():
            print(f"{name:9} check {r['seconds']:7.3f} s  cpu {r['cpu_s']:6.2f} s  process {r['wall_s']:6.2f} s  "
                  f"peak RSS {r['maxrss_mib']:6.1f} MiB  peak tree PSS {r['pss_mib']:6.1f} MiB  "
                  f"tokens {r['tokens']:,}  ({r['mb_per_s']:.1f} MB/s)")
        if "baseline" in results:
            base, cold = results["baseline"], results["cold"]
            print(f"cold is {base['seconds'] / cold['seconds']:.1f}x faster than the baseline "
                  f"({base['wall_s'] / cold['wall_s']:.1f}x process to process, {base['cpu_s'] / cold['cpu_s']:.1f}x "
                  "less CPU); "
                  f"peak RSS {base['maxrss_mib'] / cold['maxrss_mib']:.1f}x smaller")
        print(f"warm is {results['cold']['seconds'] / results['warm']['seconds']:.0f}x faster than cold")


if __name__ == "__main__":
    main()
