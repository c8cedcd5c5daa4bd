"""`ftops graph`: base models, specs and their parents, providers and pinned models, as text, Mermaid or DOT."""

from __future__ import annotations

from enum import Enum

import typer

from ftops.cli import context
from ftops.cli.output import EXIT_OK, echo


class GraphFormat(str, Enum):
    text = "text"
    mermaid = "mermaid"
    dot = "dot"


def graph(format: GraphFormat = typer.Option(GraphFormat.text, "--format", "-f",
                                             help="text (trees), mermaid (for Markdown) or dot (Graphviz).")) -> int:
    """Show which spec continues from which, on which provider, and what the lockfile pins (no provider calls)."""
    from ftops import graph as graphs
    from ftops.config import find_root, load_config, require_project
    from ftops.lockfile import read_lockfile
    from ftops.spec import load_specs

    config = require_project(load_config(find_root(context.current.directory)))
    lock = read_lockfile(config.lockfile, config.rel(config.lockfile), config.cache_dir)
    built = graphs.build(load_specs(config), lock, {name: p.type for name, p in config.providers.items()})
    render = {GraphFormat.text: graphs.text, GraphFormat.mermaid: graphs.mermaid, GraphFormat.dot: graphs.dot}
    echo(render[format](built).rstrip("\n"))
    return EXIT_OK
