"""Helpers for the plan-format tests: golden files, the plan schema, the emulator as another API user.

Golden files live in ``golden/``; regenerate them with ``FTOPS_UPDATE_GOLDEN=1 pytest tests/plan_formats`` and
review the diff. Ids the emulator makes up (jobs, files, model suffixes) and timestamps are normalised first.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import httpx
import jsonschema

from tests.conftest import TEST_KEY

GOLDEN = Path(__file__).parent / "golden"
SCHEMA = Path(__file__).parents[2] / "schemas" / "plan.schema.json"
TODAY = "2026-06-01"  # far enough from the 2027 shutdowns that only the tests that want a warning get one

VOLATILE = [
    (re.compile(r"\bftjob-[A-Za-z0-9]+"), "ftjob-ID"),
    (re.compile(r"\bfile-[A-Za-z0-9]+"), "file-ID"),
    (re.compile(r"\b(ft:[^\s:|`\"]+:[^\s:|`\"]+:[^\s:|`\"]+):[A-Za-z0-9]+"), r"\1:ID"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"), "TIMESTAMP"),
    (re.compile(r"\"ftops_version\": \"[^\"]+\""), "\"ftops_version\": \"VERSION\""),
]


def normalise(text: str) -> str:
    for pattern, replacement in VOLATILE:
        text = pattern.sub(replacement, text)
    return text


def assert_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    text = normalise(text)
    if os.environ.get("FTOPS_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"no golden file {path}; run with FTOPS_UPDATE_GOLDEN=1 to create it"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"


def validate_plan(document: dict) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(document)


def delete_model(project, model: str) -> None:
    """Delete a fine-tuned model on the emulator, as someone with the API key could."""
    response = httpx.delete(f"{project.emu.url}/models/{model}", headers={"Authorization": f"Bearer {TEST_KEY}"})
    response.raise_for_status()


def add_bot(project, name: str = "bot", **fields) -> None:
    """A spec with a training and a validation file (12 and 4 examples), 3 epochs."""
    project.dataset(f"data/{name}.jsonl", 12)
    project.dataset(f"data/{name}-valid.jsonl", 4, start=100)
    project.spec(name, validation_file=f"../data/{name}-valid.jsonl",
                 method={"type": "supervised", "hyperparameters": {"n_epochs": 3}}, **fields)


def train(project, *names: str):
    """Add these specs and apply until their models are pinned."""
    for name in names:
        add_bot(project, name)
    result = project.run("apply", "--auto-approve", "--wait")
    assert result.rc == 0, result.all
    assert all(project.model(name) for name in names), project.lock_text()
    return project
