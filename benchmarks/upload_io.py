"""Upload I/O: one large dataset uploaded through OpenAI's Uploads API by the official SDK's
``client.uploads.upload_file_chunked`` and by ftops's ``stage_file``, each against a fresh emulator process and
each from a fresh client process, so both sides' peak memory can be read. Then the emulator's validation cost of
that file for a first job and for a second job on the same file; the memory every provider type's staging path
needs at two file sizes; optionally the CPU split of a multi-spec apply. All figures and ratios come from one run.

    .venv/bin/python benchmarks/upload_io.py --size-mib 1024 [--repeat 3] [--staging-mib 32,128] [--apply-specs 0]

* wall: the client process's time for the upload (imports excluded), cpu: its CPU seconds over that time; peak
  RSS: its VmHWM (imports included, as a user pays them); emulator peak RSS: the server's VmHWM over the upload (reset before it with clear_refs). The SDK
  and ftops take turns ``--repeat`` times; the medians are compared. (Below 512 MiB ftops sends the file in one
  POST /files, as it would for a user; the SDK's helper always uses the Uploads API.)
* validation: emulator CPU seconds (user + system, every thread) and peak RSS from a job's create until it is
  queued, first for a job on the uploaded file, then for a second job on the same file. ``--validate-mib`` validates
  a file of that size instead of the uploaded one.
* staging: for each provider type's way of staging a file (openai's POST /files and its Uploads API, Azure's is
  openai's, together, fireworks' :upload and its signed URL, ray's package PUT to a sink), how much the client's
  RSS grows while it stages a file of each ``--staging-mib`` size (flat: the same at every size).
* ``--apply-specs N``: `ftops plan`, then `ftops apply --auto-approve --wait`, of N specs over one dataset of
  ``--apply-mib`` MiB, with the CPU seconds of ftops (with its workers) and of the emulator for each command.

Every process this starts is stopped by its own pid; the temporary directory (with the big files) is removed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.reliability.support import KEY_ENV, EmulatorProcess  # noqa: E402

MIB = 1 << 20
TICKS = os.sysconf("SC_CLK_TCK")


# -- measuring a process from outside ---------------------------------------------------------------------------
def peak_rss_mib(pid: int) -> float:
    """VmHWM of a live process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for {pid}")


def reset_peak(pid: int) -> None:
    """Start a new high-water mark for ``pid`` (Linux: writing 5 to clear_refs resets VmHWM to the current RSS)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (every thread)


# -- data ---------------------------------------------------------------------------------------------------------
def make_dataset(path: Path, size_mib: int, tag: str = "q") -> None:
    """A chat JSONL file of about ``size_mib`` MiB, every line a distinct valid example of about 1 KiB."""
    filler = "Please keep the answer short and exact; " * 12
    target = size_mib * MIB
    written = 0
    with open(path, "w", encoding="utf-8", buffering=4 * MIB) as fh:
        i = 0
        while written < target:
            block = "".join(json.dumps({"messages": [
                {"role": "system", "content": "You are a terse assistant."},
                {"role": "user", "content": f"{tag} {n}: {filler}what is {n} plus {n}?"},
                {"role": "assistant", "content": f"{n} plus {n} is {2 * n}."}]}) + "\n" for n in range(i, i + 1000))
            fh.write(block)
            written += len(block)
            i += 1000


def sha256_of(path: Path) -> str:
    from ftops.filehash import sha256_file

    return sha256_file(path)


# -- clients, each run in a fresh process: `python upload_io.py --child sdk|ftops|stage:<way>` ----------------------
def current_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


# How each provider type stages a file: (its type, its ftops.yaml options for the server at url, client kwargs).
STAGERS: dict[str, Any] = {
    "openai-files": lambda url: ("openai", {"base_url": url}, {}),
    "openai-uploads": lambda url: ("openai", {"base_url": url}, {"simple_upload_limit": 0}),
    "together": lambda url: ("together", {"base_url": url}, {}),
    "fireworks-upload": lambda url: ("fireworks", {"base_url": url, "account": "acct-bench"}, {}),
    "fireworks-signed": lambda url: ("fireworks", {"base_url": url, "account": "acct-bench"},
                                     {"simple_upload_limit": 0}),
    "ray": lambda url: ("ray", {"address": url, "artifacts": "/tmp/ftops-bench-artifacts"}, {}),
}
DIALECT = {"openai-files": "openai", "openai-uploads": "openai", "together": "together",
           "fireworks-upload": "fireworks", "fireworks-signed": "fireworks", "ray": None}


def own_cpu_s() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def child(who: str, url: str, file: Path, sha256: str) -> dict[str, Any]:
    if who == "sdk":
        from openai import OpenAI

        client = OpenAI(base_url=url, api_key="bench", max_retries=0, timeout=600)
        cpu, started = own_cpu_s(), time.perf_counter()
        upload = client.uploads.upload_file_chunked(file=file, mime_type="application/jsonl", purpose="fine-tune")
        wall, cpu = time.perf_counter() - started, own_cpu_s() - cpu
        assert upload.file is not None, upload
        return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mib": peak_rss_mib(os.getpid()), "file_id": upload.file.id,
                "bytes": upload.file.bytes}
    from ftops.config import ProviderConfig
    from ftops.providers.registry import kind

    type_, options, kwargs = STAGERS[who.removeprefix("stage:") if who != "ftops" else "openai-uploads"](url)
    if who == "ftops":
        kwargs = {}  # the client exactly as ftops opens it
    provider = kind(type_).open(ProviderConfig("bench", type_, options), None, key="bench", **kwargs)
    before = current_rss_mib()
    reset_peak(os.getpid())
    cpu, started = own_cpu_s(), time.perf_counter()
    remote = provider.stage_file(file, sha256=sha256)
    wall, cpu = time.perf_counter() - started, own_cpu_s() - cpu
    provider.close()
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mib": peak_rss_mib(os.getpid()), "file_id": remote.id,
            "bytes": remote.bytes, "rss_before_mib": before}


def run_child(who: str, url: str, file: Path, sha256: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--child", who, "--url", url, "--file", str(file),
                          "--sha256", sha256], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if out.returncode != 0:
        raise SystemExit(f"the {who} upload failed:\n{out.stdout}\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def upload_with(who: str, tmp: Path, file: Path, sha256: str) -> tuple[dict[str, Any], EmulatorProcess]:
    """Upload ``file`` with ``who`` into a fresh emulator; returns the figures and the (still running) emulator."""
    state = tmp / f"emu-{who}"
    emu = EmulatorProcess(state, job_duration=1000.0)
    try:
        emu.state()  # warm: the emulator's imports and first request are not the upload's
        reset_peak(emu.proc.pid)
        cpu0 = cpu_seconds(emu.proc.pid)
        result = run_child(who, emu.url, file, sha256)
        result["emulator_peak_rss_mib"] = peak_rss_mib(emu.proc.pid)
        result["emulator_cpu_s"] = cpu_seconds(emu.proc.pid) - cpu0
        blob = state / "blobs" / result["file_id"]
        if blob.stat().st_size != file.stat().st_size or sha256_of(blob) != sha256:
            raise SystemExit(f"the {who} upload did not store the file's bytes")
        return result, emu
    except BaseException:
        emu.stop()
        raise


def compare(tmp: Path, file: Path, sha256: str, repeat: int) -> tuple[dict[str, Any], EmulatorProcess]:
    """The SDK and ftops in turns; medians of their walls, the highest of their peaks. The last ftops emulator is
    returned still running (with the file in it)."""
    runs: dict[str, list[dict[str, Any]]] = {"sdk": [], "ftops": []}
    kept: EmulatorProcess | None = None
    for turn in range(repeat):
        for who in ("sdk", "ftops"):
            result, emu = upload_with(who, tmp, file, sha256)
            runs[who].append(result)
            if who == "ftops" and turn == repeat - 1:
                kept = emu
            else:
                emu.stop()
                shutil.rmtree(tmp / f"emu-{who}")
    assert kept is not None
    summary: dict[str, Any] = {}
    for who, results in runs.items():
        summary[who] = {"wall_s": round(statistics.median(r["wall_s"] for r in results), 3),
                        "wall_s_each": [round(r["wall_s"], 3) for r in results],
                        "cpu_s": round(statistics.median(r["cpu_s"] for r in results), 3),
                        "peak_rss_mib": round(max(r["peak_rss_mib"] for r in results), 1),
                        "emulator_peak_rss_mib": round(max(r["emulator_peak_rss_mib"] for r in results), 1),
                        "emulator_cpu_s": round(statistics.median(r["emulator_cpu_s"] for r in results), 2),
                        "file_id": results[-1]["file_id"]}
    sdk, ours = summary["sdk"], summary["ftops"]
    summary["ratios_ftops_to_sdk"] = {
        "wall": round(ours["wall_s"] / sdk["wall_s"], 3),
        "client_peak_rss": round(ours["peak_rss_mib"] / sdk["peak_rss_mib"], 3),
        "emulator_peak_rss": round(ours["emulator_peak_rss_mib"] / sdk["emulator_peak_rss_mib"], 3)}
    return summary, kept


# -- every provider type's staging path ---------------------------------------------------------------------------
class Sink(ThreadingHTTPServer):
    """Stands in for a Ray job server's package store: GET says "not there", PUT reads the body and drops it."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), SinkHandler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class SinkHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args) -> None:
        pass

    def _answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        self._answer(404)

    def do_PUT(self) -> None:
        from ftops.emulator.httpio import body_blocks

        for _ in body_blocks(self.rfile, self.headers, 1 << 40):
            pass
        self._answer(200)


def staging(tmp: Path, sizes: list[int]) -> dict[str, Any]:
    """Each way of staging at each size: how much the client's RSS grew while it staged the file."""
    files = {}
    for size in sizes:
        files[size] = tmp / f"stage-{size}.jsonl"
        make_dataset(files[size], size, tag=f"s{size}")
    out: dict[str, Any] = {}
    for way, dialect in DIALECT.items():
        grew = {}
        for size, path in files.items():
            sha256 = sha256_of(path)
            if dialect is None:
                sink = Sink()
                try:
                    result = run_child(f"stage:{way}", sink.url, path, sha256)
                finally:
                    sink.stop()
            else:
                state = tmp / f"emu-stage-{way}-{size}"
                with EmulatorProcess(state, job_duration=1000.0, api=dialect) as emu:
                    result = run_child(f"stage:{way}", emu.url, path, sha256)
                shutil.rmtree(state, ignore_errors=True)
            grew[f"{size}_mib"] = round(result["peak_rss_mib"] - result["rss_before_mib"], 1)
        out[way] = {"rss_growth_mib": grew}
    for path in files.values():
        path.unlink()
    return out


# -- validation in the emulator ---------------------------------------------------------------------------------
def job_until_validated(emu: EmulatorProcess, file_id: str) -> dict[str, float]:
    """Create a job on ``file_id``, move the clock past its validation and read it back; the emulator's CPU and
    peak RSS over that, and the wall time from the create to the answer that shows the job validated."""
    http = httpx.Client(base_url=emu.url, headers={"authorization": "Bearer bench"}, timeout=3600)
    pid = emu.proc.pid
    reset_peak(pid)
    cpu0 = cpu_seconds(pid)
    started = time.perf_counter()
    job = http.post("fine_tuning/jobs", json={"model": "gpt-4o-mini-2024-07-18", "training_file": file_id,
                                              "method": {"type": "supervised"}}).raise_for_status().json()
    # 20% of the job's 1000 s: past its validation (at 15%), which this request waits for when it is not done
    http.post(f"{emu.admin_url}/clock", json={"advance": 200}).raise_for_status()
    seen = http.get(f"fine_tuning/jobs/{job['id']}").raise_for_status().json()
    wall = time.perf_counter() - started
    http.close()
    if seen["status"] not in ("queued", "running"):
        raise SystemExit(f"the job did not pass validation: {seen.get('status')} {seen.get('error')}")
    return {"emulator_cpu_s": round(cpu_seconds(pid) - cpu0, 3), "wall_s": round(wall, 3),
            "emulator_peak_rss_mib": round(peak_rss_mib(pid), 1)}


def validation(emu: EmulatorProcess, file_id: str) -> dict[str, Any]:
    first = job_until_validated(emu, file_id)
    second = job_until_validated(emu, file_id)
    return {"first_job": first, "second_job": second,
            "cpu_ratio_second_to_first": round(second["emulator_cpu_s"] / max(first["emulator_cpu_s"], 1e-3), 4)}


def upload_raw(emu: EmulatorProcess, file: Path, sha256: str) -> str:
    """``file`` staged by ftops into ``emu`` (in this process: its memory is not measured here)."""
    from ftops.config import ProviderConfig
    from ftops.providers.openai import KIND

    provider = KIND.open(ProviderConfig("bench", "openai", {"base_url": emu.url}), None, key="bench")
    try:
        return provider.stage_file(file, sha256=sha256).id
    finally:
        provider.close()


# -- a multi-spec apply over one large dataset ------------------------------------------------------------------
def apply_split(tmp: Path, specs: int, size_mib: int) -> dict[str, Any]:
    """`ftops plan` then `ftops apply --auto-approve --wait` of ``specs`` specs on one dataset (as CI runs them on a
    pull request and after its merge): wall time and the CPU seconds of ftops (with its worker processes) and of
    the emulator, for each command."""
    root = tmp / "apply-project"
    (root / "specs").mkdir(parents=True)
    (root / "data").mkdir()
    make_dataset(root / "data" / "train.jsonl", size_mib, tag="apply")
    out: dict[str, Any] = {"specs": specs, "dataset_mib": size_mib}
    with EmulatorProcess(tmp / "emu-apply", job_duration=20.0) as emu:
        (root / "ftops.yaml").write_text(yaml.safe_dump({"project": "uploadio", "default_provider": "emu",
                                                         "providers": {"emu": {"type": "openai", "base_url": emu.url,
                                                                               "api_key_env": KEY_ENV}}}))
        for i in range(specs):
            (root / "specs" / f"s{i}.yaml").write_text(yaml.safe_dump({
                "name": f"s{i}", "base_model": "gpt-4o-mini-2024-07-18", "suffix": f"s{i}",
                "training_file": "../data/train.jsonl", "seed": i,
                "method": {"type": "supervised", "hyperparameters": {"n_epochs": 1 + i % 3}}}))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "FTOPS_"))}
        env.update({KEY_ENV: "bench", "FTOPS_CREDENTIALS": f"{KEY_ENV}={emu.url}", "FTOPS_POLL_INTERVAL": "1",
                    "FTOPS_CACHE_DIR": str(tmp / "ftops-cache")})
        reset_peak(emu.proc.pid)
        for name, args in (("plan", ["plan"]), ("apply", ["apply", "--auto-approve", "--wait"])):
            children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            emu_cpu0 = cpu_seconds(emu.proc.pid)
            started = time.monotonic()
            done = subprocess.run([sys.executable, "-m", "ftops", "-C", str(root), *args], capture_output=True,
                                  text=True, env=env, stdin=subprocess.DEVNULL)
            wall = time.monotonic() - started
            if done.returncode != 0:
                raise SystemExit(f"{name} failed:\n{done.stdout}\n{done.stderr}")
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
            ftops_cpu = children.ru_utime - children0.ru_utime + children.ru_stime - children0.ru_stime
            emu_cpu = cpu_seconds(emu.proc.pid) - emu_cpu0
            out[name] = {"wall_s": round(wall, 2), "ftops_cpu_s": round(ftops_cpu, 2),
                         "emulator_cpu_s": round(emu_cpu, 2),
                         "emulator_share_of_cpu": round(emu_cpu / max(emu_cpu + ftops_cpu, 1e-3), 3)}
        out["emulator_peak_rss_mib"] = round(peak_rss_mib(emu.proc.pid), 1)
        pinned = len(yaml.safe_load((root / "ftops.lock").read_text())["models"])
    if pinned != specs:
        raise SystemExit(f"the apply pinned {pinned} of {specs} models")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="size of the uploaded file")
    parser.add_argument("--repeat", type=int, default=3, help="uploads by each client (medians are compared)")
    parser.add_argument("--validate-mib", type=int, default=0,
                        help="validate a file of this size instead of the uploaded one (0: the uploaded one)")
    parser.add_argument("--no-validation", action="store_true", help="skip the validation figures")
    parser.add_argument("--staging-mib", default="32,128",
                        help="file sizes for every provider type's staging path ('': skip)")
    parser.add_argument("--apply-specs", type=int, default=0, help="also time an apply of N specs (0: skip)")
    parser.add_argument("--apply-mib", type=int, default=256, help="the apply's shared dataset size")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--sha256", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.url, args.file, args.sha256)))
        return 0

    tmp = Path(tempfile.mkdtemp(prefix="ftops-upload-io-"))
    try:
        file = tmp / "train.jsonl"
        made = time.perf_counter()
        make_dataset(file, args.size_mib)
        sha256 = sha256_of(file)
        report: dict[str, Any] = {"size_mib": round(file.stat().st_size / MIB, 1),
                                  "dataset_made_s": round(time.perf_counter() - made, 1)}
        compared, emu = compare(tmp, file, sha256, max(1, args.repeat))
        report.update(compared)
        try:
            if not args.no_validation:
                file_id = compared["ftops"]["file_id"]
                if args.validate_mib:
                    small = tmp / "validate.jsonl"
                    make_dataset(small, args.validate_mib, tag="v")
                    file_id = upload_raw(emu, small, sha256_of(small))
                report["validation"] = {"file_mib": args.validate_mib or report["size_mib"],
                                        **validation(emu, file_id)}
        finally:
            emu.stop()
        shutil.rmtree(tmp / "emu-ftops", ignore_errors=True)
        file.unlink()
        if args.staging_mib:
            report["staging"] = staging(tmp, [int(x) for x in args.staging_mib.split(",")])
        if args.apply_specs:
            report["apply"] = apply_split(tmp, args.apply_specs, args.apply_mib)
        print(json.dumps(report, indent=2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
