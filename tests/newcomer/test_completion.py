"""Shell completion: `ftops completion bash|zsh|fish` prints a script, and spec names complete where a command
takes one (`--target`, `ftops output NAME`), read from the project without checking any dataset."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .support import cli

BIN = Path(sys.executable).parent


@pytest.fixture
def specs(tmp_path):
    """A project with specs `alpha`, `alpine` and `beta` (two in one file), a lockfile entry `retired` whose spec
    is gone, and a dataset path that does not exist (completion must not care)."""
    (tmp_path / "ftops.yaml").write_text("default_provider: local\n")
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs/a.yaml").write_text(
        "name: alpha\nbase_model: gpt-4o-mini-2024-07-18\ntraining_file: ../data/missing.jsonl\n---\n"
        "name: alpine\nbase_model: {spec: alpha}\ntraining_file: ../data/missing.jsonl\n")
    (tmp_path / "specs/b.yaml").write_text("name: beta\nbase_model: x\ntraining_file: ../data/missing.jsonl\n")
    (tmp_path / "specs/broken.yaml").write_text("name: [unclosed\n")
    (tmp_path / "ftops.lock").write_text("version: 1\nmodels:\n  retired: {provider: local, model: ft:x:y:z:1}\n")
    return tmp_path


def complete_bash(cwd: Path, line: str) -> list[str]:
    """What `ftops` answers bash's completion function for the command line ``line`` (cursor at its end)."""
    words = line.split(" ")
    env = {**os.environ, "_FTOPS_COMPLETE": "complete_bash", "COMP_WORDS": line, "COMP_CWORD": str(len(words) - 1)}
    result = subprocess.run([sys.executable, "-m", "ftops"], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    return result.stdout.split()


@pytest.mark.parametrize("shell, expected", [
    ("bash", ["complete -o default -F _ftops_completion ftops", "_FTOPS_COMPLETE=complete_bash"]),
    ("zsh", ["#compdef ftops", "_FTOPS_COMPLETE=complete_zsh", "compdef _ftops_completion ftops"]),
    ("fish", ["complete --command ftops", "_FTOPS_COMPLETE=complete_fish"]),
])
def test_a_script_is_printed_for_each_shell(tmp_path, shell, expected):
    result = cli(tmp_path, "completion", shell)

    assert result.rc == 0, result.all
    assert all(text in result.out for text in expected), result.out


def test_an_unknown_shell_is_a_usage_error(tmp_path):
    result = cli(tmp_path, "completion", "tcsh")

    assert result.rc == 1 and "tcsh" in result.err


def test_target_completes_spec_and_lockfile_names_even_with_a_broken_spec_and_missing_data(specs):
    assert complete_bash(specs, "ftops plan --target ") == ["alpha", "alpine", "beta", "retired"]
    assert complete_bash(specs, "ftops apply -t alp") == ["alpha", "alpine"]


def test_output_completes_names_and_honours_dash_c(specs, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")

    assert complete_bash(specs, "ftops output b") == ["beta"]
    assert complete_bash(elsewhere, f"ftops -C {specs} output ") == ["alpha", "alpine", "beta", "retired"]
    assert complete_bash(elsewhere, "ftops output ") == []  # not a project: nothing, and no error


def test_commands_complete_too(specs):
    assert complete_bash(specs, "ftops gr") == ["graph"]
    assert "init" in complete_bash(specs, "ftops i")


def test_bash_runs_the_script_it_is_given(specs):
    """The whole loop in a real bash: source the script, fill COMP_WORDS as bash does, call the function."""
    bash = shutil.which("bash")
    assert bash is not None and (BIN / "ftops").exists(), "needs bash and the installed ftops console script"
    script = cli(specs, "completion", "bash").out
    # bash calls the function with the command, the word being completed and the word before it
    driver = (script + "\nCOMP_WORDS=(ftops output al); COMP_CWORD=2; _ftops_completion ftops al output\n"
              'printf "%s\\n" "${COMPREPLY[@]}"\n')
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}

    result = subprocess.run([bash, "--norc", "--noprofile", "-c", driver], cwd=specs, env=env, capture_output=True,
                            text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["alpha", "alpine"]
