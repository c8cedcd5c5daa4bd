"""`plan --detailed-exitcode` and `plan --no-refresh` as CI uses them."""

from __future__ import annotations

from tests.conftest import TEST_KEY_ENV

from .support import add_bot


def test_detailed_exitcode_is_2_with_changes_and_0_without(applied):
    assert applied.run("plan", "--detailed-exitcode").rc == 0
    add_bot(applied, "other")
    assert applied.run("plan", "--detailed-exitcode", "--format", "markdown").rc == 2


def test_detailed_exitcode_is_1_when_the_plan_has_errors(project):
    add_bot(project, "bot", budget_usd=0.0001)

    result = project.run("plan", "--detailed-exitcode")

    assert result.rc == 1
    assert "exceeds budget_usd" in result.out


def test_no_refresh_plans_without_credentials_for_an_openai_provider(applied, monkeypatch):
    monkeypatch.delenv(TEST_KEY_ENV)
    add_bot(applied, "other")

    refreshed = applied.run("plan")
    offline = applied.run("plan", "--no-refresh", "--detailed-exitcode")

    assert refreshed.rc == 1 and TEST_KEY_ENV in refreshed.err  # proves the key really is missing
    assert offline.rc == 2, offline.all
    assert "from the lockfile alone" in offline.out
