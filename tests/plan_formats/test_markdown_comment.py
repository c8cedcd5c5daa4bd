"""The markdown plan as a GitHub comment: size limit, table cells that stay cells, summary first."""

from __future__ import annotations

import re

import pytest

from ftops.diff import Change
from ftops.plan import Action, Estimate, Notice, Plan
from ftops.render.markdown import MARKER, render_markdown
from ftops.workspace import load_workspace

GITHUB_LIMIT = 65_536


@pytest.fixture
def ws(project):
    return load_workspace(project.root)


def _action(i: int, reason: str = "new spec") -> Action:
    changes = tuple(Change(f"method.hyperparameters.field_{k}", k, k + 1, f"field_{k}: {k} -> {k + 1}")
                    for k in range(12))
    return Action(spec=f"spec-{i:04d}", kind="replace", provider="openai", reasons=(reason,), changes=changes,
                  model_before=f"ft:gpt-4o-mini-2024-07-18:org:spec-{i:04d}:abc", model_after="(new)",
                  estimate=Estimate(100, 10_000, 3, 30_000, 0.09),
                  stats={"training_file": {"examples": [90, 100], "tokens": [9_000, 10_000]}})


def _plan(n: int, **kw) -> Plan:
    return Plan(actions=tuple(_action(i, **kw) for i in range(n)), refreshed=True, total_usd=round(0.09 * n, 4),
                notices=(Notice("error", "estimated total $99.00 exceeds the project budget_usd $10.00"),))


def _table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("| ") and "`spec-" in line]


def test_plan_with_many_specs_stays_under_the_comment_limit_with_summary_first(ws):
    plan = _plan(150)
    full = sum(len(line) for line in render_markdown(_plan(1), ws).splitlines()) * 150
    assert full > GITHUB_LIMIT  # the plan really is too large to show whole

    text = render_markdown(plan, ws)

    assert len(text) < GITHUB_LIMIT
    assert text.splitlines()[0] == MARKER
    assert "150 to replace" in text.splitlines()[1]
    assert text.index("exceeds the project budget_usd") < text.index("| Spec |")
    assert len(_table_rows(text)) == 150  # every action keeps its row
    assert "**Estimated training cost: $13.50**" in text
    kept = text.count("<details>")
    assert 0 < kept < 150 and text.count("</details>") == kept  # cut between specs, never inside one
    assert f"_{150 - kept} more specs' details left out to stay under GitHub's comment size limit" in text


def test_huge_plan_cuts_warnings_and_table_rows_too_and_says_how_many(ws):
    warnings = tuple(Notice("warning", f"pinned model m-{i} shuts down on 2027-01-14: 25 days left", spec=f"s-{i}")
                     for i in range(2000))
    plan = _plan(2000, reason="x" * 200)
    plan = Plan(plan.actions, plan.notices + warnings, True, plan.total_usd, tuple(f"u-{i}" for i in range(900)))

    text = render_markdown(plan, ws)

    assert len(text) < GITHUB_LIMIT
    assert "exceeds the project budget_usd" in text  # errors come first, so they are never the ones cut
    shown = text.count(":warning:")
    assert 0 < shown < 2000 and f"_{2000 - shown} more notices left out" in text
    assert "Unchanged: 900 specs" in text
    rows = len(_table_rows(text))
    assert 0 < rows < 2000
    assert f"_{2000 - rows} more actions left out" in text
    assert "2000 to replace" in text.splitlines()[1]


def _cells(row: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


def test_pipes_and_newlines_stay_inside_their_table_cell(ws):
    change = Change("suffix", "a|b", "c\nd", "suffix: a|b -> c\nd")
    plan = Plan(actions=(Action(spec="bot", kind="replace", provider="p", model_after="(new)", changes=(change,),
                                reasons=("a | b\nc <script>",)),), notices=(), refreshed=True, total_usd=None)
    text = render_markdown(plan, ws)

    row = next(line for line in text.splitlines() if line.startswith("| ~ |"))
    diff = next(line for line in text.splitlines() if line.startswith("| `suffix`"))

    assert len(_cells(row)) == 8
    assert _cells(row)[3] == "changed: suffix; a \\| b<br>c &lt;script>"
    assert _cells(diff) == ["`suffix`", "`a\\|b`", "`c d`"]
