"""The seam the suite-wide answer checks rest on: an in-process emulator hands every answer to
``EmulatorConfig.on_response``; with FTOPS_EMULATOR_RECORD set, every emulator (a ``serve`` subprocess too) appends
them to a JSONL file; and tests/published.py finds an answer its provider's document does not allow."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from ftops.emulator import EmulatorConfig, start
from ftops.emulator.answers import RECORD_ENV
from tests import published


def test_an_in_process_emulator_hands_every_answer_to_on_response(tmp_path):
    seen = []
    config = EmulatorConfig(state_dir=tmp_path / "s", on_response=lambda *answer: seen.append(answer))
    with start(config) as emu:
        httpx.get(f"{emu.url}/files", headers={"authorization": "Bearer k"})
        httpx.get(f"{emu.url}/files/nope", headers={"authorization": "Bearer k"})
        httpx.get(f"{emu.url}/files")  # no key
    assert [(m, p, s, c) for m, p, s, c, _ in seen] == [
        ("GET", "/v1/files", 200, "application/json"), ("GET", "/v1/files/nope", 404, "application/json"),
        ("GET", "/v1/files", 401, "application/json")]
    assert json.loads(seen[0][4])["first_id"] == ""


def test_a_serve_subprocess_records_its_answers_where_the_environment_says(tmp_path, monkeypatch):
    record = tmp_path / "recorded"
    monkeypatch.setenv(RECORD_ENV, str(record))
    proc = subprocess.Popen([sys.executable, "-m", "ftops", "emulator", "serve", "--state", str(tmp_path / "s"),
                             "--api", "together"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, text=True)
    try:
        url = proc.stdout.readline().strip().split("=", 1)[1]
        assert httpx.get(f"{url}/files", headers={"authorization": "Bearer k"}).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
    (path,) = record.glob("answers-*.jsonl")
    (line,) = [json.loads(x) for x in path.read_text().splitlines()]
    assert (line["api"], line["method"], line["path"], line["status"]) == ("together", "GET", "/v1/files", 200)
    assert published.problem(line) is None


def answer(api: str, method: str, path: str, status: int, body, content_type: str = "application/json") -> dict:
    return {"api": api, "method": method, "path": path, "status": status, "content_type": content_type, "body": body}


def test_an_answer_the_document_does_not_allow_is_found():
    job = {"id": "ftjob-1", "object": "fine_tuning.job", "created_at": 1, "error": None, "fine_tuned_model": None,
           "finished_at": None, "model": "gpt-4o-mini-2024-07-18", "organization_id": "org", "result_files": [],
           "status": "queued", "trained_tokens": None, "training_file": "file-1", "validation_file": None,
           "seed": 1, "method": {"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.1}}}}
    missing = published.problem(answer("openai", "GET", "/v1/fine_tuning/jobs/ftjob-1", 200, job))
    assert "'hyperparameters' is a required property" in missing
    fixed = {**job, "hyperparameters": {"n_epochs": 3, "batch_size": 1, "learning_rate_multiplier": 2}}
    assert published.problem(answer("azure", "GET", "/openai/v1/fine_tuning/jobs/ftjob-1", 200, fixed)) is None
    empty = {"object": "list", "data": [], "has_more": False, "first_id": None, "last_id": None}
    assert "None is not of type 'string'" in published.problem(answer("openai", "GET", "/v1/files", 200, empty))
    assert "'error' is a required property" in published.problem(answer("openai", "GET", "/v1/files", 404,
                                                                         {"message": "no"}))
    assert "add it to tests/published.py UNPUBLISHED" in published.problem(
        answer("openai", "GET", "/v1/fine_tuning/secret", 200, {}))
    assert published.problem(answer("fireworks", "GET", "/v1/accounts/a/models", 200, {"odd": True})) is None
    arm = "/subscriptions/s/resourceGroups/r/providers/Microsoft.CognitiveServices/accounts/a/deployments/d"
    assert "'code' is a required property" in published.problem(answer("azure", "GET", arm, 404,
                                                                       {"error": {"message": "gone"}}))


@pytest.mark.parametrize("name", ["openai-openapi-subset.yaml", "together-openapi.yaml"])
def test_the_documents_are_the_published_ones_from_the_reference(name):
    """The copies next to the emulator tests are the reference's (../shared/reference, beside the repository as
    CI checks it out), byte for byte."""
    reference = Path(__file__).parents[3] / "shared" / "reference" / name
    assert reference.is_file(), f"{reference} is missing: check ../shared out beside the repository"
    assert (Path(__file__).parent / name).read_bytes() == reference.read_bytes()
