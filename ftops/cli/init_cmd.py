"""`ftops init`: start a project that passes `ftops validate` at once; never overwrites a file."""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from ftops.cli import context
from ftops.cli.output import EXIT_OK, echo
from ftops.errors import ConfigError


class ProviderName(str, Enum):
    local = "local"
    openai = "openai"
    azure_openai = "azure-openai"
    together = "together"
    fireworks = "fireworks"
    ray = "ray"


def _next_steps(root: Path, provider: str, key_env: str | None) -> list[str]:
    steps = []
    here = context.current.directory
    if root != here:
        shown = os.path.relpath(root, here) if here in root.parents else str(root)
        steps.append(f"cd {shown}")
    if provider == "azure-openai":
        steps.append("edit ftops.yaml: put your Azure resource's name in base_url")
    if provider == "fireworks":
        steps.append("edit ftops.yaml: put your Fireworks account id in account")
    if key_env:
        steps.append(f"export {key_env}=...")
    steps += ["ftops validate", "ftops plan", "ftops apply" + (" --auto-approve --wait" if provider == "local" else "")]
    return steps


def init(
    directory: Optional[Path] = typer.Argument(None, help="The project directory (default: the current one); "
                                               "created when missing.", show_default=False, metavar="DIR"),
    provider: ProviderName = typer.Option(ProviderName.local, "--provider", "-p",
                                          help="Where models are trained. local is a built-in emulator: no account, "
                                          "no key, no cost."),
    github: bool = typer.Option(False, "--github", help="Also write GitHub workflows that plan every pull request "
                                "and apply on merge (.github/workflows/)."),
) -> int:
    """Start a project: ftops.yaml, an example spec and dataset, editor schemas, .gitignore (never overwrites)."""
    from ftops.scaffold import PROVIDERS, ignore_state_dir, project_files, project_name, write_new

    here = context.current.directory
    root = (here / directory if directory is not None else here).resolve()
    if root.exists() and not root.is_dir():
        raise ConfigError(f"{root} exists and is not a directory")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create {root}: {exc.strerror or exc}") from None
    choice = PROVIDERS[provider.value]
    name = project_name(root)
    done = write_new(root, project_files(name, provider.value, github=github))
    done.append((".gitignore", ignore_state_dir(root)))

    echo(f"ftops project {name!r} in {root} (provider: {provider.value})")
    width = max(len(status) for _, status in done)
    for rel, status in done:
        echo(f"  {status:<{width}}  {rel}")
    if any(rel == "ftops.yaml" and status != "created" for rel, status in done):
        echo("ftops.yaml was there already: its settings (and provider) stay as they are.")
    if github and provider.value in ("local", "ray"):
        echo(f"note: the workflows will run against the {provider.value} provider, which CI cannot keep or reach; "
             "point default_provider at a hosted one before relying on them.")
    if github and choice.key_env:
        echo(f"Add the repository secret {choice.key_env} for the workflows.")
    echo("\nNext:")
    for step in _next_steps(root, provider.value, choice.key_env if not os.environ.get(choice.key_env or "")
                            else None):
        echo(f"  {step}")
    if choice.key_env and os.environ.get(choice.key_env) and sys.stdin.isatty():
        echo(f"\n{choice.key_env} is set: run `ftops jobs --all` to list the fine-tunes you already have on "
             f"{provider.value}, and `ftops import NAME JOB_ID` to manage one of them here.")
    return EXIT_OK
