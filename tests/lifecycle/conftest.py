"""Fixtures for the after-the-job verbs: a project on one emulator dialect per provider type (the contract
suite's World), and a W&B / MLflow that write only to the test's own directory."""

from __future__ import annotations

import pytest

from ftops.emulator import EmulatorConfig, start
from tests.contract.harness import HARNESSES
from tests.contract.test_contract import World

BY_NAME = {h.name: h for h in HARNESSES}
DIALECTS = ("openai", "together", "fireworks")  # one provider type per emulator dialect


def make_world(tmp_path, name: str) -> tuple[World, object]:
    harness = BY_NAME[name]
    emu = start(EmulatorConfig(state_dir=tmp_path / f"emulator-{name}", api=harness.api, job_duration=10.0))
    root = tmp_path / f"proj-{name}"
    root.mkdir()
    return World(root, emu, harness), emu


@pytest.fixture(params=DIALECTS)
def world(request, tmp_path):
    found, emu = make_world(tmp_path, request.param)
    try:
        yield found
    finally:
        emu.stop()


@pytest.fixture
def openai_world(tmp_path):
    found, emu = make_world(tmp_path, "openai")
    try:
        yield found
    finally:
        emu.stop()


@pytest.fixture
def offline_tracking(tmp_path, monkeypatch):
    """W&B offline and MLflow on a file store, both under the test's directory: nothing leaves the machine."""
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb-dir"))
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb-config"))
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "wandb-cache"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", (tmp_path / "mlruns").as_uri())
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    (tmp_path / "wandb-dir").mkdir()
    return tmp_path
