"""One measured run for benchmarks/data_check.py: `ftops` (check_file), `floor` (parse and count tokens only, see
data_check_floor.py) or `baseline` (the cookbook's way). Prints one JSON line: seconds (imports excluded), CPU
seconds and peak RSS of this process and its children, tokens counted."""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path


def main() -> None:
    mode, path, cache = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    encoding = sys.argv[4] if len(sys.argv) > 4 else "cl100k_base"
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    if mode == "ftops":
        from ftops.dataset import check_file
        from ftops.providers.registry import model_facts

        info = model_facts("gpt-4o-mini")[1]

        def run() -> int:
            return check_file(path, info=info, cache_dir=cache).tokens.total
    elif mode == "floor":
        from data_check_floor import floor

        def run() -> int:
            return floor(path, encoding)
    else:
        from data_check_cookbook import check

        def run() -> int:
            return check(path, encoding)
    start = time.perf_counter()
    tokens = run()
    seconds = time.perf_counter() - start
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    maxrss = max(u.ru_maxrss for u in usage)
    cpu = sum(u.ru_utime + u.ru_stime for u in usage)
    print(json.dumps({"seconds": seconds, "cpu_s": cpu, "maxrss_mib": maxrss / 1024, "tokens": tokens,
                      "mb_per_s": path.stat().st_size / seconds / 1e6}))


if __name__ == "__main__":
    main()
