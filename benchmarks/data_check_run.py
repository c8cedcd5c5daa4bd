"""One measured run for benchmarks/data_check.py: `ftops` (check_file) or `baseline` (the cookbook's way).
Prints one JSON line: seconds, CPU seconds and peak RSS of this process and its children, tokens."""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path


def run_ftops(path: Path, cache: Path) -> int:
    from ftops.dataset import check_file

    report = check_file(path, model="gpt-4o-mini", cache_dir=cache)
    return report.tokens.total


def run_baseline(path: Path, cache: Path) -> int:
    from data_check_cookbook import check

    return check(path)


def main() -> None:
    mode, path, cache = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    start = time.perf_counter()
    tokens = run_ftops(path, cache) if mode == "ftops" else run_baseline(path, cache)
    seconds = time.perf_counter() - start
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    maxrss = max(u.ru_maxrss for u in usage)
    cpu = sum(u.ru_utime + u.ru_stime for u in usage)
    print(json.dumps({"seconds": seconds, "cpu_s": cpu, "maxrss_mib": maxrss / 1024, "tokens": tokens,
                      "mb_per_s": path.stat().st_size / seconds / 1e6}))


if __name__ == "__main__":
    main()
