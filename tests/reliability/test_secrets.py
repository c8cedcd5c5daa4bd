"""The API key never reaches an artefact: set a recognisable canary in the variable the provider reads, run every
command (all plan formats, a saved plan, apply, status, output, a rejected key, retries, verbose logs), then
grep everything ftops wrote or printed. The bug-report path (exit 3) prints frames, never locals or messages."""

from __future__ import annotations

import io
import logging
import os
from contextlib import redirect_stderr
from pathlib import Path

import pytest

from ftops.cli.main import report_bug
from ftops.emulator import EmulatorConfig, start
from tests.conftest import Project
from tests.reliability.support import EmulatorProcess, ftops_env, make_project, run_ftops

CANARY_ENV = "FTOPS_CANARY_KEY"
CANARY = "ftops-leak-canary-7Q3ZK9"  # recognisable, and not shaped like any real provider's key
FRAGMENTS = (CANARY, "leak-canary", "7Q3ZK9")


def leaks(text: str) -> list[str]:
    return [f for f in FRAGMENTS if f in text]


def leaking_files(*dirs: Path) -> list[str]:
    found = []
    for d in dirs:
        for path in d.rglob("*") if d.exists() else ():
            if path.is_file() and not path.is_symlink():
                data = path.read_bytes()
                if any(f.encode() in data for f in FRAGMENTS):
                    found.append(str(path))
    return found


@pytest.fixture
def canary(monkeypatch):
    monkeypatch.setenv(CANARY_ENV, CANARY)


def test_the_key_appears_in_no_output_file_or_log_of_any_command(tmp_path, canary, caplog):
    caplog.set_level(logging.DEBUG)
    outputs: list[str] = []
    good = start(EmulatorConfig(state_dir=tmp_path / "good-emulator", job_duration=10.0, api_key=CANARY))
    strict = start(EmulatorConfig(state_dir=tmp_path / "strict-emulator", api_key="the-key-it-expects"))
    try:
        root = make_project(tmp_path / "proj", good.url, key_env=CANARY_ENV)
        project = Project(root, good, bind={CANARY_ENV: f"{good.url} {CANARY_ENV}={strict.url}"})

        def run(*args: str, rc: int | None = 0) -> None:
            result = project.run(*args)
            outputs.append(result.all)
            assert result.rc != 3 and "Traceback" not in result.all, result.all
            if rc is not None:
                assert result.rc == rc, (args, result.all)

        run("-v", "validate")
        for fmt in ("text", "markdown", "json"):
            run("-v", "plan", "--format", fmt)
        run("-vv", "plan", "--out", str(root / "plan.json"))
        project.admin("POST", "faults", {"rate": 0.3, "kinds": ["429", "500", "drop", "drop_after"], "seed": 5})
        run("-vv", "apply", str(root / "plan.json"), "--auto-approve", "--wait")
        project.admin("POST", "faults", {"rate": 0.0})
        for args in (("status",), ("status", "--json"), ("output",), ("output", "--json"), ("output", "parent"),
                     ("data", "check", str(root / "data" / "parent.jsonl"), "--json")):
            run("-v", *args)
        run("-v", "plan", "--detailed-exitcode")
        run("-v", "apply", "--auto-approve")  # nothing to do
        # error paths: a rejected key, a saved plan that is stale, an unknown target, a missing spec
        (root / "ftops.yaml").write_text((root / "ftops.yaml").read_text().replace(good.url, strict.url))
        run("-vv", "plan", rc=1)
        run("-vv", "apply", "--auto-approve", rc=1)
        run("-v", "apply", str(root / "plan.json"), "--auto-approve", rc=1)
        run("-v", "plan", "--target", "nope", rc=1)
        run("-v", "output", "nope", rc=1)
        assert "status=401" in outputs[-5] and "status=401" in outputs[-4]
        assert any("retrying" in r.getMessage() for r in caplog.records), "no retry was logged"
    finally:
        good.stop()
        strict.stop()
    assert [leaks(o) for o in outputs if leaks(o)] == []
    assert leaks(caplog.text) == []
    assert leaking_files(root, Path(os.environ["FTOPS_CACHE_DIR"])) == []


def test_verbose_logs_of_a_real_process_never_show_the_key(tmp_path):
    """Real stderr, real logging configuration (-vv: ftops's debug lines too), a rejected key."""
    with EmulatorProcess(tmp_path / "strict", extra=("--api-key", "the-key-it-expects")) as emu:
        root = make_project(tmp_path / "proj", emu.url, key_env=CANARY_ENV)
        env = ftops_env(root, **{CANARY_ENV: CANARY})
        rejected = run_ftops(root, "-vv", "apply", "--auto-approve", env=env)
        emu.proc.send_signal(2)
        emu.proc.wait(timeout=10)
        emulator_log = emu.proc.stdout.read() + emu.proc.stderr.read()
    assert rejected.returncode == 1, rejected.stderr
    assert "status=401" in rejected.stderr and "DEBUG" in rejected.stderr
    assert leaks(rejected.stdout + rejected.stderr) == []
    assert leaks(emulator_log) == []
    assert leaking_files(root) == []


def test_a_bug_report_shows_frames_but_no_locals_and_no_message():
    def handler(api_key: str) -> None:
        secret_local = f"Bearer {api_key}"  # noqa: F841 (a local a traceback with locals would show)
        raise RuntimeError(f"failed with {api_key}")

    try:
        handler(CANARY)
    except RuntimeError as exc:
        err = io.StringIO()
        with redirect_stderr(err):
            assert report_bug(exc) == 3
    text = err.getvalue()
    assert "ftops hit a bug (exit 3)" in text and "RuntimeError" in text and "in handler" in text
    assert leaks(text) == []
