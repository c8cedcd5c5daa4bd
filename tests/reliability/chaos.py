"""The chaos engine shared by tests/reliability/test_chaos.py and benchmarks/chaos.py.

A lane is a standalone emulator process and a project (four specs: parent -> child, two sharing a file). Each
generation gives the project new training data (so every spec is created or replaced), then runs
``ftops apply --auto-approve --wait`` as a real subprocess and SIGKILLs it at a random moment, again and again;
after every kill the lockfile must parse and no fingerprint may have two live jobs on the emulator. When the
generation's kills are spent (or an apply finishes before its kill), apply runs to completion and the end state
is audited against the emulator's own records. Lanes run side by side to use both cores.

Kill moments: some during start-up/refresh (measured from the spawn), the rest measured from the moment the plan
is printed, many of them within 0.4 s (uploads, job creation), the others spread over the poll and record
phases, so they land where they matter whatever the machine's speed.
"""

from __future__ import annotations

import random
import signal
import subprocess
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tests.reliability.support import (EmulatorProcess, Spawned, audit, check_converged, lockfile_valid,
                                       make_project, new_generation)

PHASES = ("startup", "planned", "uploaded", "started job", "validating_files", "queued", "running", "pinned")


@dataclass
class ChaosReport:
    seed: int
    kills: int = 0
    applies: int = 0
    generations: int = 0
    lockfile_invalid: int = 0
    duplicate_jobs: int = 0  # live jobs beyond one per fingerprint (end of each lane)
    duplicate_uploads: int = 0
    jobs_per_fingerprint: Counter = field(default_factory=Counter)  # n live jobs -> how many fingerprints
    phases: Counter = field(default_factory=Counter)  # the phase each kill interrupted (last line printed)
    problems: list[str] = field(default_factory=list)
    wall: float = 0.0
    _mutex: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def summary(self) -> str:
        per_fp = ", ".join(f"{n} live job(s): {c} fingerprint(s)" for n, c in sorted(self.jobs_per_fingerprint.items()))
        phases = ", ".join(f"{p}={self.phases[p]}" for p in PHASES if self.phases[p])
        return (f"seed {self.seed}: {self.kills} kills, {self.applies} applies, {self.generations} generations; "
                f"jobs per fingerprint [{per_fp}]; duplicate jobs {self.duplicate_jobs}, duplicate uploads "
                f"{self.duplicate_uploads}, lockfile invalid {self.lockfile_invalid}; wall {self.wall:.1f}s\n"
                f"kills by phase: {phases}" + ("\nproblems:\n  " + "\n  ".join(self.problems)
                                               if self.problems else ""))


def _phase(lines: list[str]) -> str:
    for line in reversed(lines):
        for phase in reversed(PHASES[2:]):
            if f" {phase}" in line:
                return phase
        if line.startswith("Plan:"):
            return "planned"
    return "startup"


@dataclass
class Lane:
    report: ChaosReport
    rng: random.Random
    workdir: Path
    job_duration: float
    work_window: float  # seconds after the plan is printed over which kills are spread
    early_share: float = 0.15  # share of kills during start-up and refresh
    launch_share: float = 0.35  # share of kills in the first 0.4 s after the plan: uploads and job creation
    api: str = "openai"  # the emulator dialect, and the provider type the project uses (support.APIS)

    def run(self, kill_points: int, kills_per_generation: int) -> None:
        with EmulatorProcess(self.workdir / "emulator", job_duration=self.job_duration,
                             extra=("--api", self.api)) as emu:
            root = make_project(self.workdir / "project", emu.url, tag="g0", api=self.api)
            kills = generation = 0
            while kills < kill_points:
                if generation:
                    new_generation(self.workdir / "project", f"g{generation}")
                generation += 1
                kills += self._generation(emu, root, f"{self.workdir.name} g{generation}",
                                          min(kills_per_generation, kill_points - kills))
            state = emu.state()
            found = audit(state, api=self.api)
            with self.report._mutex:
                self.report.generations += generation
                self.report.duplicate_jobs += found.duplicate_jobs
                self.report.duplicate_uploads += found.duplicate_uploads
                self.report.jobs_per_fingerprint.update(found.live_per_fingerprint.values())

    def _generation(self, emu: EmulatorProcess, root: Path, where: str, budget: int) -> int:
        kills = 0
        done = False
        while kills < budget:
            apply = self._spawn(root)
            draw = self.rng.random()
            early = draw < self.early_share
            window = 0.4 if draw < self.early_share + self.launch_share else self.work_window
            wait = self.rng.uniform(0.2, 1.5) if early else self.rng.uniform(0.0, window)
            if not early:
                apply.wait_for_output("Plan:", timeout=30)
            try:
                rc = apply.proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:  # still running: the kill point
                apply.proc.send_signal(signal.SIGKILL)
                apply.finish()
                kills += 1
                self._after_kill(root, emu, apply, f"{where} kill {kills} ({'early' if early else 'late'} "
                                                  f"{wait:.2f}s)")
                continue
            apply.finish()
            if rc != 0:
                self._problem(f"{where}: apply exited {rc}: {apply.stderr[-2000:]}")
            done = True
            break
        for _ in range(1 if done else 4):  # run to completion
            final = self._spawn(root)
            rc = final.finish(timeout=120)
            if rc == 0:
                break
            self._problem(f"{where}: completing apply exited {rc}: {final.stdout[-1500:]} {final.stderr[-1500:]}")
        self._problems(where, check_converged(root, emu.state(), api=self.api))
        return kills

    def _spawn(self, root: Path) -> Spawned:
        with self.report._mutex:
            self.report.applies += 1
        return Spawned(root, "apply", "--auto-approve", "--wait")

    def _after_kill(self, root: Path, emu: EmulatorProcess, apply: Spawned, where: str) -> None:
        invalid = lockfile_valid(root)
        found = audit(emu.state(), api=self.api)
        with self.report._mutex:
            self.report.kills += 1
            self.report.phases[_phase(apply.out)] += 1
            if invalid:
                self.report.lockfile_invalid += 1
        if invalid:
            self._problem(f"{where}: lockfile invalid: {invalid}")
        if found.duplicate_jobs:
            self._problem(f"{where}: duplicate live jobs {dict(found.live_per_fingerprint)}")

    def _problem(self, text: str) -> None:
        with self.report._mutex:
            self.report.problems.append(text)

    def _problems(self, where: str, problems: list[str]) -> None:
        for p in problems:
            self._problem(f"{where}: {p}")


def run_chaos(*, seed: int, kill_points: int, lanes: int = 2, kills_per_generation: int = 6,
              job_duration: float = 1.5, work_window: float = 2.0, workdir: Path | None = None,
              api: str = "openai") -> ChaosReport:
    report = ChaosReport(seed=seed)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ftops-chaos-") as tmp:
        base = workdir or Path(tmp)
        shares = [kill_points // lanes + (1 if i < kill_points % lanes else 0) for i in range(lanes)]
        workers = [Lane(report, random.Random(f"{seed}:{i}"), base / f"lane{i}", job_duration, work_window,
                        api=api) for i in range(lanes)]
        errors: list[BaseException] = []

        def drive(lane: Lane, share: int) -> None:
            try:
                lane.run(share, kills_per_generation)
            except BaseException as exc:  # surfaced below, with the lane's report
                errors.append(exc)

        threads = [threading.Thread(target=drive, args=(w, n)) for w, n in zip(workers, shares)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
    report.wall = time.monotonic() - started
    return report
