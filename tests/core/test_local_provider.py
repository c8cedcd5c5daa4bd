"""The embedded `local` provider: separate ftops processes share one world through .ftops/local/."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import write_jsonl, chat_example


def ftops(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    return subprocess.run([sys.executable, "-m", "ftops", "-C", str(root), *args], capture_output=True, text=True,
                          env=env, timeout=120, stdin=subprocess.DEVNULL)


def test_apply_then_plan_in_separate_processes_see_the_same_local_world(tmp_path):
    root = tmp_path / "proj"
    write_jsonl(root / "data" / "a.jsonl", [chat_example(i) for i in range(12)])
    (root / "specs").mkdir()
    (root / "specs" / "a.yaml").write_text(yaml.safe_dump({
        "name": "a", "base_model": "gpt-4o-mini-2024-07-18", "suffix": "a", "training_file": "../data/a.jsonl"}))
    (root / "ftops.yaml").write_text("providers:\n  local: {type: local, job_duration: 0.5}\n")

    launched = ftops(root, "apply", "--auto-approve")
    assert launched.returncode == 0, launched.stderr
    assert "started job ftjob-" in launched.stdout
    lock = yaml.safe_load((root / "ftops.lock").read_text())
    job_id = lock["models"]["a"]["pending"]["job_id"]
    assert (root / ".ftops" / "local").is_dir()

    time.sleep(1.0)  # the job's whole lifecycle is 0.5 s of emulator time
    plan = ftops(root, "plan", "--detailed-exitcode")
    assert plan.returncode == 2, plan.stdout + plan.stderr
    assert f"job {job_id} succeeded" in plan.stdout

    recorded = ftops(root, "apply", "--auto-approve")
    assert recorded.returncode == 0, recorded.stderr
    model = yaml.safe_load((root / "ftops.lock").read_text())["models"]["a"]["model"]
    assert model.startswith("ft:gpt-4o-mini-2024-07-18:") and ":a:" in model
    final = ftops(root, "plan", "--detailed-exitcode")
    assert final.returncode == 0, final.stdout + final.stderr


def test_no_traceback_for_a_user_error_in_a_real_process(tmp_path):
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "x.yaml").write_text("name: [\n")
    result = ftops(tmp_path, "plan")
    assert result.returncode == 1
    assert "specs/x.yaml:" in result.stderr and "Traceback" not in result.stderr


def _local_project(root: Path, options: str) -> Path:
    write_jsonl(root / "data" / "a.jsonl", [chat_example(i) for i in range(12)])
    (root / "specs").mkdir(parents=True)
    (root / "specs" / "a.yaml").write_text(yaml.safe_dump({
        "name": "a", "base_model": "gpt-4o-mini-2024-07-18", "suffix": "a", "training_file": "../data/a.jsonl"}))
    (root / "ftops.yaml").write_text(f"providers:\n  local:\n    type: local\n{options}")
    return root


@pytest.mark.parametrize("kinds, answer", [
    ("[429]", "Rate limit reached for requests (injected by the ftops emulator)"),  # numbers, as YAML reads them
    ("['500']", "The server had an error while processing your request (injected fault)"),  # or quoted
    ("[drop]", "RemoteProtocolError talking to local: Server disconnected without sending a response."),
])
def test_local_fault_kinds_take_status_codes_as_numbers_or_strings_and_reach_the_emulator(tmp_path, kinds, answer):
    root = _local_project(tmp_path / "proj", f"    fault_rate: 1.0\n    fault_kinds: {kinds}\n    seed: 1\n"
                                             "    max_retries: 0\n")
    assert ftops(root, "validate").returncode == 0
    plan = ftops(root, "plan")  # every request gets one of the faults asked for, and none is retried
    assert plan.returncode == 1 and f"error: local: {answer}" in plan.stderr, plan.stderr


def test_local_fault_kinds_given_as_one_string_is_an_error_that_shows_the_list_to_write(tmp_path):
    root = _local_project(tmp_path / "proj", "    fault_kinds: '429,500, drop'\n")
    result = ftops(root, "validate")
    assert result.returncode == 1
    assert ("ftops.yaml:4: providers.local.fault_kinds: '429,500, drop' is one string, but this key takes a list: "
            "write [429, 500, drop]") in result.stderr
