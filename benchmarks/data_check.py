"""Benchmark: a cold `ftops data check` against the floor for the same work, and against the cookbook's way.

Generates a chat JSONL file (~200 MiB by default; realistic varied text, some rows with tools, tool calls and
content parts) inside a small local-provider project in a temp dir, then runs, each in its own subprocess:
  cold     check_file with an empty cache (sha256 + parse + checks + duplicate index + token counts, both cores)
  floor    the same parsing and token counting and nothing else, split over the same cores (data_check_floor.py)
  warm     check_file again with the cache from the last cold run
  baseline the cookbook notebook as people copy it: load all lines, json.loads all, format checks, encode every
           message value (and the assistant ones again) with tiktoken (cl100k_base, as it does), distributions
  plan     `ftops plan` of a project whose one spec trains on the file, with an empty .ftops/ (a whole CLI
           process, start-up and the local provider's refresh included), next to `ftops data check FILE` of the
           same project with an empty .ftops/ (also a whole process)
Cold and floor run --runs times, alternating which goes first; each run's ratio cold/floor is taken from the pair
(so load from other work on the machine hits both alike) and the median and spread of the ratios are printed.
For each run: the check's time (imports excluded) and the whole process's, CPU seconds (the process and its pool
workers), peak RSS (the largest process) and peak total PSS of the process tree (sampled from /proc).

    .venv/bin/python benchmarks/data_check.py [--size-mib 200] [--runs 5] [--keep DIR] [--skip-baseline]
                                              [--skip-plan] [--baseline-encoding cl100k_base|o200k_base]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
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
CONFIG = "default_provider: local\nproviders:\n  local: {type: local}\n"
SPEC = ("name: bench\nbase_model: gpt-4o-mini-2024-07-18\nsuffix: bench\ntraining_file: ../data/train.jsonl\n"
        "method: {type: supervised}\n")


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


def measured(argv: list[str]) -> tuple[str, dict]:
    """Run a process; its stdout, wall seconds, CPU seconds (it and its children) and peak tree PSS."""
    before = os.times()
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    peak, done = [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _tree_pss_kib(proc.pid))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    done.set()
    sampler.join()
    wall = time.perf_counter() - start
    after = os.times()
    if proc.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(argv)} failed with exit code {proc.returncode}:\n{err[-2000:]}")
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return out, {"wall_s": wall, "process_cpu_s": cpu, "pss_mib": peak[0] / 1024}


def run(mode: str, path: Path, cache: Path, *extra: str) -> dict:
    out, figures = measured([sys.executable, str(RUNNER), mode, str(path), str(cache), *extra])
    result = json.loads(out.strip().splitlines()[-1])
    result.update(figures)
    return result


def cli(root: Path, *args: str) -> dict:
    """One `ftops` command in ``root`` with an empty .ftops/ (a cold cache), as a whole process."""
    shutil.rmtree(root / ".ftops", ignore_errors=True)
    return measured([sys.executable, "-m", "ftops", "-C", str(root), *args])[1]


def _line(name: str, r: dict) -> str:
    return (f"{name:9} check {r['seconds']:7.3f} s  cpu {r['cpu_s']:6.2f} s  process {r['wall_s']:6.2f} s  "
            f"peak RSS {r['maxrss_mib']:6.1f} MiB  peak tree PSS {r['pss_mib']:6.1f} MiB  "
            f"tokens {r['tokens']:,}  ({r['mb_per_s']:.1f} MB/s)")


def _spread(values: list[float]) -> str:
    return f"median {statistics.median(values):.3f} (min {min(values):.3f}, max {max(values):.3f}, n={len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=float, default=200)
    parser.add_argument("--runs", type=int, default=5, help="cold/floor pairs (and cold plans)")
    parser.add_argument("--keep", type=Path, help="make the project here (and keep it) instead of in a temp dir")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--skip-plan", action="store_true")
    parser.add_argument("--baseline-encoding", default="cl100k_base", choices=["cl100k_base", "o200k_base"],
                        help="the cookbook uses cl100k_base; o200k_base is what ftops uses for gpt-4o-mini")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ftops-bench-") as tmp:
        root = args.keep or Path(tmp) / "project"
        (root / "specs").mkdir(parents=True, exist_ok=True)
        (root / "data").mkdir(exist_ok=True)
        (root / "ftops.yaml").write_text(CONFIG)
        (root / "specs" / "bench.yaml").write_text(SPEC)
        path = root / "data" / "train.jsonl"
        t = time.perf_counter()
        size_bytes = int(args.size_mib * (1 << 20))
        if not (path.exists() and path.stat().st_size >= size_bytes and args.keep):
            rows = write_chat_file(path, size_bytes)
        else:
            rows = sum(1 for _ in open(path, "rb"))
        size = path.stat().st_size
        print(f"data: {path} {size / (1 << 20):.1f} MiB, {rows:,} examples (ready in {time.perf_counter() - t:.1f} s)")
        load = os.getloadavg()[0]
        colds, floors = [], []
        for i in range(args.runs):
            cache = Path(tmp) / f"cold-{i}" / ".ftops"
            order = ("cold", "floor") if i % 2 == 0 else ("floor", "cold")
            for mode in order:
                if mode == "cold":
                    colds.append(run("ftops", path, cache))
                else:
                    floors.append(run("floor", path, cache, "o200k_base"))
            print(f"run {i + 1}: " + "; ".join(f"{m} {(colds if m == 'cold' else floors)[-1]['seconds']:.3f} s"
                                                 for m in order)
                  + f"; ratio {colds[-1]['seconds'] / floors[-1]['seconds']:.3f}", flush=True)
        results = {"cold": colds[-1], "floor": floors[-1], "warm": run("ftops", path, cache)}
        if not args.skip_baseline:
            results["baseline"] = run("baseline", path, cache, args.baseline_encoding)
        plans, checks = [], []
        if not args.skip_plan:
            for i in range(args.runs):
                pair = [("plan", lambda: cli(root, "plan")),
                        ("data check", lambda: cli(root, "data", "check", "data/train.jsonl"))]
                for name, go in pair if i % 2 == 0 else pair[::-1]:
                    (plans if name == "plan" else checks).append(go())
            shutil.rmtree(root / ".ftops", ignore_errors=True)
        print(f"cores: {os.cpu_count()}, load average before the runs: {load:.2f}, after: {os.getloadavg()[0]:.2f} "
              "(other work on the machine slows the runs down; CPU seconds are steadier than wall times)")
        for name, r in results.items():
            print(_line(name, r))
        if any(c["tokens"] != f["tokens"] for c, f in zip(colds, floors)):
            print("WARNING: the floor counted other tokens than the check")
        ratios = [c["seconds"] / f["seconds"] for c, f in zip(colds, floors)]
        print(f"cold / floor, check time:   {_spread(ratios)}")
        print(f"cold / floor, process time: {_spread([c['wall_s'] / f['wall_s'] for c, f in zip(colds, floors)])}")
        print(f"cold / floor, CPU seconds:  {_spread([c['cpu_s'] / f['cpu_s'] for c, f in zip(colds, floors)])}")
        print(f"cold check s:  {_spread([c['seconds'] for c in colds])}; CPU s {_spread([c['cpu_s'] for c in colds])}")
        print(f"floor s:       {_spread([f['seconds'] for f in floors])}; CPU s {_spread([f['cpu_s'] for f in floors])}")
        print(f"peak tree PSS MiB: cold {_spread([c['pss_mib'] for c in colds])}; "
              f"floor {_spread([f['pss_mib'] for f in floors])}")
        print(f"peak RSS MiB:      cold {_spread([c['maxrss_mib'] for c in colds])}; "
              f"floor {_spread([f['maxrss_mib'] for f in floors])}")
        if "baseline" in results:
            base, cold = results["baseline"], results["cold"]
            print(f"cold is {base['seconds'] / cold['seconds']:.1f}x faster than the baseline "
                  f"({base['wall_s'] / cold['wall_s']:.1f}x process to process, {base['cpu_s'] / cold['cpu_s']:.1f}x "
                  "less CPU); "
                  f"peak RSS {base['maxrss_mib'] / cold['maxrss_mib']:.1f}x smaller")
        print(f"warm is {results['cold']['seconds'] / results['warm']['seconds']:.0f}x faster than cold")
        if plans:
            print(f"cold `ftops plan` process s:       {_spread([p['wall_s'] for p in plans])}; "
                  f"CPU s {_spread([p['process_cpu_s'] for p in plans])}; PSS MiB {_spread([p['pss_mib'] for p in plans])}")
            print(f"cold `ftops data check` process s: {_spread([c['wall_s'] for c in checks])}; "
                  f"CPU s {_spread([c['process_cpu_s'] for c in checks])}; PSS MiB {_spread([c['pss_mib'] for c in checks])}")
            print(f"plan - data check, per pair s:    {_spread([p['wall_s'] - c['wall_s'] for p, c in zip(plans, checks)])}")
            print(f"plan / data check, per pair:      {_spread([p['wall_s'] / c['wall_s'] for p, c in zip(plans, checks)])}")


if __name__ == "__main__":
    main()
