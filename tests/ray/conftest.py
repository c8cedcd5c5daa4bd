"""A real single-node Ray head on loopback, started once per test run, and projects that use it.

The head is started with the settings of shared/reference/ray-jobs-api.md: every listener on 127.0.0.1
(RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 keeps Ray from swapping the loopback node IP for the host's address), usage
stats off, a small object store, pinned free ports and a temp dir of its own with a short path (Ray's socket
paths are length-limited). It is stopped through its own process session, never with ``ray stop`` (which stops
every Ray process of the user on the machine). Ray is in the test extra: these tests do not skip.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from ftops.cli.context import Runtime
from tests.conftest import Project, Result

BIGRAM = Path(__file__).parent / "trainers" / "bigram"
BIGRAM_COMMAND = ("python train.py --data {training_file} --valid {validation_file} --out {output_dir} "
                  "--hyper {hyperparameters_json}")
START_TIMEOUT = 120.0


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _ports(rng: random.Random) -> tuple[list[int], int]:
    """Nine free ports and the start of 100 free worker ports, below the kernel's ephemeral range."""
    for _ in range(200):
        base = rng.randrange(20000, 32000 - 120)
        wanted = list(range(base, base + 9)) + list(range(base + 20, base + 120))
        if all(_free(p) for p in wanted):
            return wanted[:9], base + 20
    raise RuntimeError("no free block of ports for a Ray head on 127.0.0.1")


@dataclass
class Head:
    url: str
    temp_dir: Path
    process: subprocess.Popen
    start_seconds: float

    def get(self, path: str) -> Any:
        response = httpx.get(f"{self.url}/{path.lstrip('/')}", timeout=30)
        response.raise_for_status()
        return response.json()

    def jobs(self) -> list[dict[str, Any]]:
        return [j for j in self.get("api/jobs/") if j.get("submission_id")]

    def job(self, job_id: str) -> dict[str, Any]:
        return self.get(f"api/jobs/{job_id}")

    def package_exists(self, name: str) -> bool:
        return httpx.get(f"{self.url}/api/packages/gcs/{name}", timeout=30).status_code == 200

    def uploads(self, name: str) -> int:
        """How many times the job server stored a package of this name (its own log says so per PUT)."""
        logs = self.temp_dir / "session_latest" / "logs"
        return sum(path.read_text(errors="replace").count(f"Uploading package gcs://{name} ")
                   for path in logs.glob("dashboard_JobHead*.log"))

    def wait_for(self, job_id: str, states: tuple[str, ...], timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job["status"] in states or time.monotonic() > deadline:
                return job
            time.sleep(0.25)


def start_head(temp_dir: Path, *, seed: int = 0) -> Head:
    (gcs, dashboard, client, agent_http, agent_grpc, runtime_env, metrics, node_manager, object_manager), \
        workers = _ports(random.Random(seed or os.getpid()))
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
    command = [str(Path(sys.executable).parent / "ray"), "start", "--head", "--block", "--num-cpus", "2",
               "--node-ip-address", "127.0.0.1", "--port", str(gcs), "--dashboard-host", "127.0.0.1",
               "--dashboard-port", str(dashboard), "--include-dashboard", "true", "--temp-dir", str(temp_dir),
               "--disable-usage-stats", "--object-store-memory", "100000000",
               "--ray-client-server-port", str(client), "--dashboard-agent-listen-port", str(agent_http),
               "--dashboard-agent-grpc-port", str(agent_grpc), "--runtime-env-agent-port", str(runtime_env),
               "--metrics-export-port", str(metrics), "--node-manager-port", str(node_manager),
               "--object-manager-port", str(object_manager), "--min-worker-port", str(workers),
               "--max-worker-port", str(workers + 99)]
    log = open(temp_dir.parent / f"{temp_dir.name}.log", "wb")
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                               start_new_session=True)  # its own session: stopped as a whole, by its id
    url = f"http://127.0.0.1:{dashboard}"
    while True:
        try:
            if httpx.get(f"{url}/api/version", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() - started > START_TIMEOUT:
            stop_head(process)
            raise RuntimeError(f"the Ray head did not start: {Path(log.name).read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)
    return Head(url, temp_dir, process, time.monotonic() - started)


def _session_members(sid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getsid(int(entry.name)) == sid:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def stop_head(process: subprocess.Popen) -> None:
    """SIGTERM to ``ray start --block`` alone (it drains the node and stops what it started, in about 3 s; a
    SIGTERM to the whole group kills the GCS under it and it then waits 30 s for it), then SIGKILL to its process
    group and to whatever of its session is left (Ray's workers have process groups of their own)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    deadline = time.monotonic() + 10
    while (left := _session_members(process.pid)) and time.monotonic() < deadline:
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.2)
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def ray_head():
    temp_dir = Path(tempfile.mkdtemp(prefix="ftr", dir="/tmp"))  # short: Ray's socket paths are length-limited
    head = start_head(temp_dir)
    try:
        yield head
    finally:
        stop_head(head.process)
        shutil.rmtree(temp_dir, ignore_errors=True)
        Path(f"{temp_dir}.log").unlink(missing_ok=True)


class RayProject(Project):
    """A real ftops project whose provider ``gpu`` is the test run's Ray head, with the bigram trainer in
    ``trainers/bigram`` and its artifacts under ``artifacts/``; driven through the CLI with real time."""

    def __init__(self, root: Path, head: Head, **provider: Any):
        super().__init__(root, None)
        self.head = head
        shutil.copytree(BIGRAM, root / "trainers" / "bigram")
        self.name = root.parent.name[-40:].strip("-_.") or "ray"  # unique per test: its jobs are its own
        self.configure(**provider)

    def configure(self, **provider: Any) -> None:
        block = {"type": "ray", "address": self.head.url, "artifacts": self.artifacts_uri,
                 "trainer": {"entrypoint": BIGRAM_COMMAND, "working_dir": "trainers/bigram"}, **provider}
        self.write("ftops.yaml", yaml.safe_dump({"project": self.name, "default_provider": "gpu",
                                                "providers": {"gpu": block}}, sort_keys=False))

    @property
    def artifacts_uri(self) -> str:
        return (self.root / "artifacts").as_uri()

    def spec(self, name: str, **fields: Any) -> Path:
        body = {"name": name, "base_model": "bigram-0", "training_file": f"../data/{name}.jsonl",
                "method": {"type": "supervised", "hyperparameters": {"n_epochs": 3, "learning_rate": 0.5}}}
        body.update(fields)
        return self.write(f"specs/{name}.yaml", yaml.safe_dump(body, sort_keys=False))

    def run(self, *args: str, runtime: Runtime | None = None) -> Result:
        return super().run(*args, runtime=runtime or Runtime(poll_interval=0.25))

    def provider(self, name: str):
        """ftops's own client for a provider of this project (the one the CLI opens)."""
        from ftops.config import load_config
        from ftops.providers import open_provider

        config = load_config(self.root)
        return open_provider(config.providers[name], config)

    def entry(self, name: str) -> dict[str, Any]:
        return (self.lock().get("models") or {}).get(name) or {}

    def my_jobs(self) -> list[dict[str, Any]]:
        return [j for j in self.head.jobs() if (j.get("metadata") or {}).get("ftops_project") == self.name]

    def submissions(self) -> dict[str, list[str]]:
        """Launch key id -> the submission ids Ray has for it."""
        out: dict[str, list[str]] = {}
        for job in self.my_jobs():
            out.setdefault(job["metadata"]["ftops_launch_key"], []).append(job["submission_id"])
        return {k: sorted(v) for k, v in out.items()}

    def states(self) -> list[str]:
        """The statuses of this project's jobs, oldest submission first."""
        return [j["status"] for j in sorted(self.my_jobs(), key=lambda j: j["start_time"])]


@pytest.fixture
def ray_project(tmp_path, ray_head) -> RayProject:
    root = tmp_path / "proj"
    root.mkdir()
    return RayProject(root, ray_head)
