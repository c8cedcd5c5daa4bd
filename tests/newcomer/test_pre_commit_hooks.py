"""The pre-commit hooks in .pre-commit-hooks.yaml, run the way a user's repository runs them, against a git
repository holding this checkout's ftops, in a project made by `ftops init`: once through `pre-commit try-repo`,
then through a `.pre-commit-config.yaml` that names that repository (what users write).

The hooks are `language: python`: pre-commit makes a virtualenv for them and pip-installs ftops there from the
hook repository, with ftops's dependencies from the package index pip is configured with (its ordinary
configuration, as in CI, where the package registries are reachable and nothing else is). try-repo builds that
environment in a throwaway store each time; the config-based runs share one store, so this module installs the
environment twice (about 20 s each). The hooks themselves run offline and never call a provider.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .support import cli

REPO = Path(__file__).parents[2]
GIT = ["git", "-c", "user.name=ftops-tests", "-c", "user.email=tests@ftops.invalid", "-c", "commit.gpgsign=false",
       "-c", "init.defaultBranch=main"]

pytestmark = pytest.mark.slow


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT", "VIRTUAL_ENV"))}
    return {**env, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"}


def _git(cwd: Path, *args: str) -> None:
    subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True, text=True)


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory) -> Path:
    """A git repository with this checkout's ftops (working tree, committed changes or not) and its hooks file."""
    repo = tmp_path_factory.mktemp("hook-repo")
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        shutil.copy2(REPO / name, repo / name)
    shutil.copytree(REPO / "ftops", repo / "ftops", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "ftops with its pre-commit hooks")
    return repo


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def user_repo(tmp_path) -> Path:
    """A user's repository: `ftops init`, everything staged (pre-commit looks at tracked files)."""
    root = tmp_path / "user-repo"
    assert cli(tmp_path, "init", str(root)).rc == 0
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    return root


def _pre_commit(home: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=cwd, env=_env(home),
                            capture_output=True, text=True, timeout=600)
    if "An unexpected error has occurred" in result.stdout + result.stderr:
        log = home / "pre-commit.log"
        pytest.fail("pre-commit failed; when installing the hook environment, pip needs the package index:\n"
                    + (log.read_text()[-3000:] if log.exists() else result.stdout[-3000:]))
    return result


def run_hooks(hook_repo: Path, home: Path, user_repo: Path, *args: str) -> subprocess.CompletedProcess:
    """`pre-commit run` with a config naming the hook repository at its commit, as a user's repository has."""
    rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=hook_repo, capture_output=True, text=True,
                         check=True).stdout.strip()
    (user_repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {hook_repo}\n  rev: {rev}\n  hooks:\n  - id: ftops-validate\n  - id: ftops-data-check\n")
    _git(user_repo, "add", "-A")
    return _pre_commit(home, user_repo, "run", *args, "--verbose")


def test_try_repo_runs_both_hooks_and_they_pass_on_a_new_project(hook_repo, tmp_path, user_repo):
    result = _pre_commit(tmp_path / "home", user_repo, "try-repo", str(hook_repo), "--all-files", "--verbose")

    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"ftops validate\.+Passed", result.stdout), result.stdout
    assert re.search(r"ftops data check\.+Passed", result.stdout), result.stdout


def test_on_a_warm_cache_each_hook_takes_a_fraction_of_a_second(hook_repo, pre_commit_home, user_repo):
    run_hooks(hook_repo, pre_commit_home, user_repo, "--all-files")  # the environment and the caches warm up

    result = run_hooks(hook_repo, pre_commit_home, user_repo, "--all-files")

    assert result.returncode == 0, result.stdout
    durations = [float(d) for d in re.findall(r"- duration: ([\d.]+)s", result.stdout)]
    assert len(durations) == 2, result.stdout
    assert max(durations) < 5, durations  # about 0.3 s each here; generous for a loaded CI machine


def test_data_check_names_the_bad_line_of_a_changed_dataset(hook_repo, pre_commit_home, user_repo):
    train = user_repo / "data/example/train.jsonl"
    train.write_text(train.read_text() + '{"messages": [{"role": "user", "content": "hi"}\n')

    result = run_hooks(hook_repo, pre_commit_home, user_repo, "ftops-data-check", "--files",
                       "data/example/train.jsonl")

    assert result.returncode == 1, result.stdout
    assert "data/example/train.jsonl:13: [invalid_json]" in result.stdout


def test_validate_reports_a_bad_spec_key_with_file_and_line(hook_repo, pre_commit_home, user_repo):
    spec = user_repo / "specs/example.yaml"
    spec.write_text(spec.read_text() + "sufix: typo\n")

    result = run_hooks(hook_repo, pre_commit_home, user_repo, "ftops-validate", "--files", "specs/example.yaml")

    assert result.returncode == 1, result.stdout
    assert "specs/example.yaml:14: sufix: unknown key 'sufix'" in result.stdout
    assert "Traceback" not in result.stdout


def test_validate_does_not_run_when_only_unrelated_files_change(hook_repo, pre_commit_home, user_repo):
    (user_repo / "notes.txt").write_text("hello\n")

    result = run_hooks(hook_repo, pre_commit_home, user_repo, "--files", "notes.txt")

    assert result.returncode == 0, result.stdout
    assert re.search(r"ftops validate\.+\(no files to check\)Skipped", result.stdout), result.stdout
