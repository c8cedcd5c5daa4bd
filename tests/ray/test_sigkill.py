"""SIGKILL of `ftops apply` at seeded points never submits a second run for the same fingerprint: whatever the
killed apply had done (packages uploaded, a job submitted, nothing written down yet), the next apply finds the
job by its submission id and adopts it. Ray itself is the witness: its job list has one submission per launch
key."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading

import pytest

SEED = 1010


def killed_apply(root, *, at_line: str | None = None, after: float | None = None) -> str:
    """Run `ftops apply --auto-approve --wait` in a process of its own; SIGKILL it when a line of its output
    starts with ``at_line`` (or after ``after`` seconds). Returns what it printed."""
    env = {**os.environ, "FTOPS_POLL_INTERVAL": "0.25"}
    process = subprocess.Popen([sys.executable, "-u", "-m", "ftops", "-C", str(root), "apply", "--auto-approve",
                                "--wait"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               env=env, text=True)
    lines: list[str] = []
    timer = threading.Timer(after, process.kill) if after is not None else None
    if timer:
        timer.start()
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if at_line and line.split(": ", 1)[-1].startswith(at_line):
                process.send_signal(signal.SIGKILL)
                break
        process.wait(timeout=120)
    finally:
        if timer:
            timer.cancel()
        if process.poll() is None:
            process.kill()
            process.wait()
    return "".join(lines)


@pytest.mark.parametrize("seed", [SEED])
def test_sigkill_at_seeded_points_never_submits_a_second_run(ray_project, seed):
    p = ray_project
    rng = random.Random(seed)
    points = [("uploaded", None), ("started job", None), (None, round(rng.uniform(1.0, 2.5), 2))]
    for number, (at_line, after) in enumerate(points):
        p.dataset("data/a.jsonl", 14 + number, start=10 * number)  # new inputs: a new launch key each round
        p.spec("a")
        out = killed_apply(p.root, at_line=at_line, after=after)
        if at_line:
            assert at_line in out, out
        finished = p.run("apply", "--auto-approve", "--wait")
        assert finished.rc == 0, finished.all
        assert p.run("plan", "--detailed-exitcode").rc == 0
    submissions = p.submissions()
    assert len(submissions) == len(points) and all(len(ids) == 1 for ids in submissions.values()), submissions
    assert p.entry("a")["job"]["id"] in [ids[0] for ids in submissions.values()]
