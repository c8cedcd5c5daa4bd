"""`ftops completion bash|zsh|fish`: the shell's completion script; and the spec names it completes.

The script calls ftops back with ``_FTOPS_COMPLETE`` set (typer's completion protocol). Spec names come from
the spec files' ``name:`` keys and the lockfile, read leniently and without checking any dataset, so completing
costs a YAML parse per spec file.
"""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path

import typer

from ftops.cli.output import EXIT_OK, echo

COMPLETE_VAR = "_FTOPS_COMPLETE"


class Shell(str, Enum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def prepare() -> None:
    """Register typer's completion classes when a shell asks ftops to complete (their wire format is the one the
    scripts below speak); a normal run skips the import."""
    if os.environ.get(COMPLETE_VAR):
        from typer.completion import completion_init

        completion_init()


def completion(shell: Shell = typer.Argument(..., help="bash, zsh or fish.", show_default=False)) -> int:
    """Print the shell completion script (commands, options, spec names).

    bash: eval "$(ftops completion bash)" in ~/.bashrc; zsh: eval "$(ftops completion zsh)" in ~/.zshrc (after
    compinit); fish: ftops completion fish > ~/.config/fish/completions/ftops.fish"""
    from typer.completion import completion_init, get_completion_script

    completion_init()
    echo(get_completion_script(prog_name="ftops", complete_var=COMPLETE_VAR, shell=shell.value))
    return EXIT_OK


def spec_names(directory: Path) -> list[str]:
    """Names of the project's specs and lockfile entries; whatever cannot be read is skipped, never raised."""
    from ftops.config import find_root, load_config
    from ftops.errors import FtopsError
    from ftops.lockfile import read_lockfile
    from ftops.spec import spec_files
    from ftops.yamlload import load_documents, read_text

    try:
        config = load_config(find_root(directory))
    except (FtopsError, OSError):
        return []
    names: set[str] = set()
    for path in spec_files(config):
        try:
            docs = load_documents(read_text(path, path.name), path.name)
        except (FtopsError, OSError):
            continue
        names.update(d.data["name"] for d in docs if isinstance(d.data, dict) and isinstance(d.data.get("name"), str))
    try:
        names.update(read_lockfile(config.lockfile).entries)
    except (FtopsError, OSError):
        pass
    return sorted(names)


def complete_spec_names(ctx: typer.Context, incomplete: str) -> list[str]:
    """Completion callback for options and arguments that take a spec name (honours -C DIR)."""
    directory = ctx.find_root().params.get("directory") or Path.cwd()
    return [name for name in spec_names(Path(directory)) if name.startswith(incomplete)]
