"""`ftops init --provider fireworks`: a project that validates at once (no key needed to validate)."""

from __future__ import annotations

import yaml

from tests.conftest import Project

from .conftest import BASE


def test_a_new_fireworks_project_validates_at_once(tmp_path, monkeypatch):
    monkeypatch.delenv("FIREWORKS_API_KEY", raising=False)
    project = Project(tmp_path, None)
    assert project.run("init", "--provider", "fireworks").rc == 0
    spec = yaml.safe_load((tmp_path / "specs/example.yaml").read_text())
    assert spec["base_model"] == BASE and "seed" not in spec  # Fireworks takes no seed
    validated = project.run("validate")
    assert validated.rc == 0, validated.all
