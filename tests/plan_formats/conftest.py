"""Fixtures for the plan-format tests: a pinned "today", and a project with something applied."""

from __future__ import annotations

import pytest

from .support import TODAY, train


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    monkeypatch.setenv("FTOPS_TODAY", TODAY)


@pytest.fixture
def applied(project):
    """A project whose spec ``bot`` (train + validation file) is trained and pinned."""
    return train(project, "bot")
