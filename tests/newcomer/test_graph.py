"""`ftops graph` in its three formats (golden files), and the family graph in the pull-request comment."""

from __future__ import annotations

import pytest

from ftops.render.markdown import MARKER

from .support import assert_golden


@pytest.fixture
def family(project):
    """parent <- child (continues from it) and `solo`, all trained and pinned; then `solo`'s spec is removed
    (it stays in the lockfile) and `newbie` is added (nothing pinned yet)."""
    project.parent_and_child()
    project.dataset("data/solo.jsonl", 12, start=200)
    project.spec("solo", base_model="gpt-4.1-mini-2025-04-14")
    assert project.run("apply", "--auto-approve", "--wait").rc == 0
    (project.root / "specs/solo.yaml").unlink()
    project.dataset("data/newbie.jsonl", 12, start=300)
    project.spec("newbie")
    return project


@pytest.mark.parametrize("fmt", ["text", "mermaid", "dot"])
def test_graph_shows_parents_providers_and_pinned_models(family, fmt):
    result = family.run("graph", "--format", fmt)

    assert result.rc == 0, result.all
    assert_golden(f"graph.{fmt}", result.out)
    assert family.model("parent") in result.out and family.model("child") in result.out


def test_graph_of_a_directory_that_is_no_project_is_an_error(tmp_path, emulator):
    from tests.conftest import Project

    result = Project(tmp_path, emulator).run("graph")

    assert result.rc == 1 and "is not an ftops project" in result.err


def test_graph_of_a_broken_spec_names_the_problem(project):
    project.dataset("data/a.jsonl")
    project.spec("a", base_model={"spec": "missing"})

    result = project.run("graph")

    assert result.rc == 1 and "unknown spec 'missing'" in result.err


def test_the_plan_comment_shows_the_family_when_a_parent_changes(family):
    family.dataset("data/parent.jsonl", 20)  # the parent retrains, so its child will too

    markdown = family.run("plan", "--format", "markdown").out

    assert markdown.startswith(MARKER)
    graph = markdown.split("```mermaid\n", 1)[1].split("```", 1)[0]
    assert "Specs that continue from `parent`" in markdown
    assert '"parent<br/>' in graph and '"child<br/>' in graph and "-->|continues|" in graph
    assert "newbie" not in graph and "solo" not in graph  # only the family of the changed parent
    assert graph.splitlines()[-1] == "  class s0,s1 changed"  # child and parent both retrain


def test_the_plan_comment_has_no_graph_when_no_changed_spec_has_children(family):
    markdown = family.run("plan", "--format", "markdown").out  # creates newbie, forgets solo

    assert "newbie" in markdown and "```mermaid" not in markdown
