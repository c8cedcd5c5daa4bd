"""Helpers for the reliability tests: a standalone emulator process, ftops as a real subprocess, projects with
a parent/child pair and two specs sharing a dataset, and the invariants checked against the emulator's records.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from ftops.errors import FtopsError
from ftops.launch import KEY_CHARS, LaunchKey, key_id
from ftops.lockfile import read_lockfile
from ftops.providers.together import key_in_suffix

KEY_ENV = "FTOPS_RELIABILITY_KEY"
PROJECT = "chaosproj"
LIVE = ("failed", "cancelled")  # job phases that do not count as "spent"


@dataclass(frozen=True)
class Flavor:
    """A provider type and the emulator dialect that stands in for it, for the reliability harness: two base
    models it offers, what else its ftops.yaml entry needs, and where its jobs carry the launch key (read from the
    emulator's neutral ``core`` view)."""

    name: str  # the provider type in ftops.yaml
    api: str  # the emulator dialect
    base_models: tuple[str, str]
    key_chars: int = KEY_CHARS
    options: dict[str, Any] = field(default_factory=dict)  # more of its ftops.yaml entry (e.g. an account)
    seeds: bool = True  # whether specs on it may set a seed
    carrier: str = "metadata"  # where a job carries the key: metadata | suffix | job_id

    def key_of(self, job: dict[str, Any], project: str) -> str | None:
        """The launch key a job (of the core view) carries, as much of it as this provider carries; None for a
        job that is not this project's (or not ftops's)."""
        if self.carrier == "job_id":
            from ftops.providers.fireworks import parse_attempt

            found = parse_attempt(job["id"])
            return found[0] if found else None
        meta = job.get("metadata") or {}
        if meta.get("ftops_fingerprint"):
            if meta.get("ftops_project") != project:
                return None
            return key_id(project, meta.get("ftops_spec", ""), meta["ftops_fingerprint"])[:self.key_chars]
        return key_in_suffix(job.get("suffix")) if self.carrier == "suffix" else None


OPENAI = Flavor("openai", "openai", ("gpt-4o-mini-2024-07-18", "gpt-4.1-mini-2025-04-14"))
TOGETHER = Flavor("together", "together", ("meta-llama/Meta-Llama-3.1-8B-Instruct-Reference", "Qwen/Qwen3.5-9B"),
                  key_chars=8, carrier="suffix")
FIREWORKS = Flavor("fireworks", "fireworks", ("accounts/fireworks/models/qwen3-8b", "accounts/fireworks/models/qwen3-4b"),
                   options={"account": "acct-chaos"}, seeds=False, carrier="job_id")
FLAVORS = {f.name: f for f in (OPENAI, TOGETHER, FIREWORKS)}


class EmulatorProcess:
    """``python -m ftops emulator serve`` in its own process, with its own state dir."""

    def __init__(self, state: Path, *, job_duration: float = 1.0, fault_rate: float = 0.0,
                 extra: tuple[str, ...] = (), api: str = "openai"):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ftops", "emulator", "serve", "--state", str(state), "--port", "0",
             "--job-duration", str(job_duration), "--fault-rate", str(fault_rate), "--api", api, *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("FTOPS_EMULATOR_URL="):
            self.stop()
            raise RuntimeError(f"emulator did not start: {line!r} {self.proc.stderr.read()}")
        self.url = line.split("=", 1)[1]
        self.admin_url = self.url.rsplit("/v1", 1)[0] + "/_emulator"
        self.http = httpx.Client(timeout=30)

    def state(self) -> dict[str, Any]:
        return self.http.get(f"{self.admin_url}/state").raise_for_status().json()

    def admin(self, path: str, body: dict | None = None) -> Any:
        return self.http.post(f"{self.admin_url}/{path}", json=body or {}).raise_for_status().json()

    def stop(self) -> None:
        self.http.close() if hasattr(self, "http") else None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            stream.close()

    def __enter__(self) -> "EmulatorProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def chat_rows(n: int, tag: str) -> list[dict[str, Any]]:
    return [{"messages": [{"role": "system", "content": "You are terse."},
                          {"role": "user", "content": f"{tag}: what is {i} plus {i}?"},
                          {"role": "assistant", "content": f"{tag}: {2 * i}."}]} for i in range(n)]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def make_project(root: Path, url: str, *, tag: str = "r0", project: str = PROJECT, key_env: str = KEY_ENV,
                 provider_options: dict[str, Any] | None = None, flavor: Flavor = OPENAI) -> Path:
    """Four specs: parent -> child, and two specs (shared-a, shared-b) training on the same file."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "ftops.yaml").write_text(yaml.safe_dump({
        "project": project, "default_provider": "emu",
        "providers": {"emu": {"type": flavor.name, "base_url": url, "api_key_env": key_env, **flavor.options,
                              **(provider_options or {})}},
    }, sort_keys=False), encoding="utf-8")
    first, second = flavor.base_models
    new_generation(root, tag)
    write_jsonl(root / "data" / "child.jsonl", chat_rows(12, f"{tag}-child"))
    write_jsonl(root / "data" / "valid.jsonl", chat_rows(10, f"{tag}-valid"))
    specs = [
        {"name": "parent", "base_model": first, "suffix": "parent",
         "training_file": "../data/parent.jsonl", "validation_file": "../data/valid.jsonl", "seed": 1},
        {"name": "child", "base_model": {"spec": "parent"}, "suffix": "child",
         "training_file": "../data/child.jsonl", "seed": 2},
        {"name": "shared-a", "base_model": first, "suffix": "shared-a",
         "training_file": "../data/shared.jsonl", "validation_file": "../data/valid.jsonl", "seed": 3},
        {"name": "shared-b", "base_model": second, "suffix": "shared-b",
         "training_file": "../data/shared.jsonl", "seed": 4},
    ]
    (root / "specs").mkdir(exist_ok=True)
    for spec in specs:
        if not flavor.seeds:
            spec.pop("seed")
        (root / "specs" / f"{spec['name']}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return root


SPEC_COUNT = 4


def new_generation(root: Path, tag: str) -> None:
    """New content for the parent's and the shared training files: every spec is replaced (the child because
    its parent is), while child.jsonl and valid.jsonl stay as they were (already uploaded: reused)."""
    write_jsonl(root / "data" / "parent.jsonl", chat_rows(12, f"{tag}-parent"))
    write_jsonl(root / "data" / "shared.jsonl", chat_rows(14, f"{tag}-shared"))


def ftops_env(root: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment of an ftops subprocess. With ``root``, the key is bound to the emulator that project's
    ftops.yaml names (FTOPS_CREDENTIALS: the trusted binding a CI workflow would set)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "FTOPS_"))}
    env.update({KEY_ENV: "reliability-test-key", "FTOPS_POLL_INTERVAL": "0.2", "PYTHONUNBUFFERED": "1"})
    if root is not None and (root / "ftops.yaml").is_file():
        providers = (yaml.safe_load((root / "ftops.yaml").read_text()) or {}).get("providers") or {}
        bound = [f"{p['api_key_env']}={p['base_url']}" for p in providers.values()
                 if p.get("base_url") and p.get("api_key_env")]
        env["FTOPS_CREDENTIALS"] = " ".join(bound)
    if os.environ.get("FTOPS_CACHE_DIR"):
        env["FTOPS_CACHE_DIR"] = os.environ["FTOPS_CACHE_DIR"]
    env.update(extra)
    return env


def ftops_cmd(root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "ftops", "-C", str(root), *args]


def run_ftops(root: Path, *args: str, env: dict[str, str] | None = None,
              timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(ftops_cmd(root, *args), capture_output=True, text=True, env=env or ftops_env(root),
                          timeout=timeout, stdin=subprocess.DEVNULL)


def _default_sigint() -> None:
    """In the child: SIGINT as on a terminal (a shell's background job may have inherited it ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Spawned:
    """A running ftops subprocess whose output is drained in the background (so it never blocks on a pipe)."""

    def __init__(self, root: Path, *args: str, env: dict[str, str] | None = None):
        self.proc = subprocess.Popen(ftops_cmd(root, *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, text=True, env=env or ftops_env(root),
                                     preexec_fn=_default_sigint)
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [threading.Thread(target=self._drain, args=(s, b), daemon=True)
                         for s, b in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for t in self._readers:
            t.start()

    @staticmethod
    def _drain(stream, sink: list[str]) -> None:
        for line in stream:
            sink.append(line)

    def wait_for_output(self, needle: str, timeout: float) -> bool:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(needle in line for line in self.out + self.err):
                return True
            if self.proc.poll() is not None:
                return any(needle in line for line in self.out + self.err)
            time.sleep(0.02)
        return False

    def finish(self, timeout: float = 60) -> int:
        rc = self.proc.wait(timeout=timeout)
        for t in self._readers:
            t.join(timeout=5)
        return rc

    @property
    def stdout(self) -> str:
        return "".join(self.out)

    @property
    def stderr(self) -> str:
        return "".join(self.err)


# -- invariants -----------------------------------------------------------------------------------------------
@dataclass
class Audit:
    """What the emulator's own records (its neutral ``core`` view) say about one project."""

    live_per_key: Counter = field(default_factory=Counter)  # launch key -> jobs not failed or cancelled
    jobs: list[dict[str, Any]] = field(default_factory=list)
    uploads_per_name: Counter = field(default_factory=Counter)

    @property
    def live_per_fingerprint(self) -> Counter:  # one launch key per (project, spec, fingerprint)
        return self.live_per_key

    @property
    def duplicate_jobs(self) -> int:
        return sum(n - 1 for n in self.live_per_key.values() if n > 1)

    @property
    def duplicate_uploads(self) -> int:
        return sum(n - 1 for n in self.uploads_per_name.values() if n > 1)


def audit(state: dict[str, Any], project: str = PROJECT, flavor: Flavor = OPENAI) -> Audit:
    result = Audit()
    core = state["core"]
    for job in core["jobs"]:
        key = flavor.key_of(job, project)
        if key is None:
            continue
        result.jobs.append(job)
        if job["phase"] not in LIVE:
            result.live_per_key[key] += 1
    for f in core["files"]:
        if f.get("purpose") == "fine-tune":
            result.uploads_per_name[f["filename"]] += 1
    for dataset in state.get("datasets") or []:  # a dialect with dataset objects: one per content
        if dataset.get("sha256"):
            result.uploads_per_name[f"sha256:{dataset['sha256']}"] += 1
    return result


def lockfile_valid(root: Path) -> str | None:
    """None when ftops.lock is absent or parses and validates; else the problem."""
    try:
        read_lockfile(root / "ftops.lock")
    except FtopsError as exc:
        return str(exc)
    return None


def check_converged(root: Path, state: dict[str, Any], project: str = PROJECT, flavor: Flavor = OPENAI) -> list[str]:
    """Problems with the end state of an apply run to completion: no launch key with two live jobs, no job left
    in flight, the lockfile valid with every spec pinned to the one succeeded job of its current fingerprint,
    no content uploaded twice."""
    problems = []
    found = audit(state, project, flavor)
    problems += [f"{n} live jobs for launch key {key}" for key, n in found.live_per_key.items() if n > 1]
    problems += [f"job {j['id']} is still {j['phase']}" for j in found.jobs
                 if j["phase"] not in ("succeeded",) + LIVE]
    problems += [f"{name} uploaded {n} times" for name, n in found.uploads_per_name.items() if n > 1]
    problems += [f"temp file left behind: {p.name}" for p in root.glob(".ftops.lock.*.tmp")]
    invalid = lockfile_valid(root)
    if invalid:
        return problems + [f"lockfile invalid: {invalid}"]
    lock = read_lockfile(root / "ftops.lock")
    if len(lock.entries) != SPEC_COUNT:
        problems.append(f"lockfile has {len(lock.entries)} entries, want {SPEC_COUNT}")
    for name, entry in lock.entries.items():
        if not entry.model or entry.pending:
            problems.append(f"lock entry {name}: model={entry.model} pending={entry.pending}")
        key = LaunchKey(project, name, entry.fingerprint or "").carried(flavor.key_chars)
        succeeded = [j for j in found.jobs if j["phase"] == "succeeded" and flavor.key_of(j, project) == key]
        if [j["fine_tuned_model"] for j in succeeded] != [entry.model]:
            problems.append(f"lock entry {name} pins {entry.model}; succeeded jobs for its fingerprint: "
                            f"{[(j['id'], j['fine_tuned_model']) for j in succeeded]}")
        if (entry.job or {}).get("id") not in [j["id"] for j in succeeded]:
            problems.append(f"lock entry {name} records job {(entry.job or {}).get('id')}, not its succeeded job")
    return problems
