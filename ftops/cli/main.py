"""``ftops`` entry point: registers the commands and is the single error boundary.

Commands are plain functions that return an exit code. ``FtopsError`` -> message on stderr, exit 1;
KeyboardInterrupt -> exit 130; anything else is a bug -> short report without locals, exit 3.
"""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path

import typer

from ftops.cli import context
from ftops.cli.output import EXIT_BUG, EXIT_ERROR, EXIT_INTERRUPTED, style
from ftops.errors import FtopsError

app = typer.Typer(
    name="ftops",
    help="Manage LLM fine-tunes as code: specs -> plan -> apply -> ftops.lock.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


_registered: list[bool] = []


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"ftops {version('ftops')}")
        raise typer.Exit(0)


@app.callback()
def _global(
    directory: Path = typer.Option(None, "--directory", "-C", help="Run as if started in this directory."),
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, metavar="", show_default=False,
                                help="A flag, repeatable: -v logs every provider request (method, URL, status, "
                                     "time) and retry; -vv adds ftops's debug log."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
    trusted_config: Path = typer.Option(None, "--trusted-config", envvar="FTOPS_TRUSTED_CONFIG",
                                        help="A reviewed ftops.yaml (e.g. the base branch's) whose provider "
                                             "endpoints may receive their keys. See the README's pull-request "
                                             "section."),
) -> None:
    context.current.directory = (directory or Path.cwd()).resolve()
    context.current.trusted_config = trusted_config
    context.current.verbose = verbose
    if verbose:  # a handler of our own: basicConfig does nothing when the host already set up logging
        # ftops's loggers only: httpx logs whole URLs (query tokens included) and httpcore every socket event;
        # ftops.http logs each request once, without secrets
        logger = logging.getLogger("ftops")
        logger.setLevel(logging.INFO if verbose == 1 else logging.DEBUG)
        if not any(getattr(h, "_ftops", False) for h in logger.handlers):
            handler = logging.StreamHandler()
            handler._ftops = True  # type: ignore[attr-defined]
            handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
            logger.addHandler(handler)


def _register() -> None:
    if _registered:
        return
    _registered.append(True)
    # Imported here so that `import ftops` stays light; the order below is the order in --help.
    from ftops.cli import (completion_cmd, data_cmd, emulator_cmd, eval_cmd, graph_cmd, import_cmd, init_cmd,
                           job_cmds, migrate_cmd, project_cmds, results_cmd)

    app.command()(init_cmd.init)
    project_cmds.register(app)
    job_cmds.register(app)
    app.command()(results_cmd.results)
    app.command(name="eval")(eval_cmd.eval_command)
    app.command(name="import")(import_cmd.import_)
    app.command()(migrate_cmd.migrate)
    app.command()(graph_cmd.graph)
    app.add_typer(data_cmd.app, name="data")
    app.add_typer(emulator_cmd.app, name="emulator")
    app.command()(completion_cmd.completion)


def report_error(exc: FtopsError) -> int:
    typer.echo(style(f"error: {exc}", fg="red", stream=sys.stderr), err=True)
    hint = getattr(exc, "hint", None)
    if hint:
        typer.echo(f"hint: {hint}", err=True)
    return EXIT_ERROR


def report_bug(exc: BaseException) -> int:
    # No locals, no argument values: only the frames, so no secret can leak into a bug report.
    frames = traceback.format_tb(exc.__traceback__)
    typer.echo("ftops hit a bug (exit 3). Please report it with these lines:", err=True)
    typer.echo("".join(frames[-6:]).rstrip(), err=True)
    typer.echo(f"{type(exc).__name__}", err=True)
    return EXIT_BUG


def main(argv: list[str] | None = None, *, runtime: context.Runtime | None = None) -> int:
    """Run the CLI and return its exit code (used by ``run`` and by tests, which may inject a runtime)."""
    _register()
    from ftops.cli.completion_cmd import prepare

    prepare()  # a shell asking for completions (see `ftops completion`)
    context.current = context.Invocation(runtime=runtime or context.Runtime())
    try:
        result = app(args=argv, prog_name="ftops", standalone_mode=False)
    except FtopsError as exc:
        return report_error(exc)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return EXIT_INTERRUPTED
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_ERROR)
    except typer.Abort:
        typer.echo("aborted", err=True)
        return EXIT_INTERRUPTED
    except typer.Exit as exc:
        return int(getattr(exc, "exit_code", 0) or 0)
    except Exception as exc:
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):  # click/typer usage errors: user errors
            exc.show()
            return EXIT_ERROR  # not 2: exit 2 means "changes pending"
        return report_bug(exc)
    return result if isinstance(result, int) else 0


def run() -> None:
    sys.exit(main())
