"""docs/cli.md, docs/config.md and docs/spec.md are generated from the CLI and the JSON Schemas (ftops/docgen.py),
checked in, and current; and they say what `--help` and the schemas say, checked here from the other side."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from ftops import docgen
from ftops.cli.main import main
from ftops.schema import load_schema

DOCS = Path(__file__).parents[2] / "docs"
README = Path(__file__).parents[2] / "README.md"


@pytest.mark.parametrize("name", docgen.PAGES)
def test_the_generated_reference_is_checked_in_and_current(name):
    path = DOCS / name
    assert path.exists(), f"docs/{name} is missing: run python -m ftops.docgen"
    assert path.read_text(encoding="utf-8") == docgen.pages()[name], f"docs/{name} is stale: run python -m ftops.docgen"


def _help(*command: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main([*command, "--help"]) == 0
    return out.getvalue()


def _section(page: str, command: str) -> str:
    """The part of cli.md about ``command`` (up to the next command's heading)."""
    start = page.index(f"# `{command}`\n")
    following = re.search(r"^#+ `ftops", page[start + 1:], re.MULTILINE)
    return page[start:start + 1 + following.start()] if following else page[start:]


def _commands(*path: str) -> list[tuple[str, ...]]:
    """Every command path, read from the Commands panels of `--help` (not from the command tree docgen walks)."""
    text = _help(*path)
    panel = text.split("Commands")[1] if "Commands" in text else ""
    names = re.findall(r"^│ (\w[\w-]*)\s", panel, re.MULTILINE)
    return [path] + [sub for name in names for sub in _commands(*path, name)]


def _options(help_text: str) -> set[str]:
    """The long options in the Options panel of a `--help` text."""
    panel = re.search(r"╭─ Options ─.*?╰", help_text, re.DOTALL)
    return set(re.findall(r"^│[ *]*(--[a-z][a-z0-9-]+)", panel.group(0), re.MULTILINE)) - {"--help"} if panel else set()


def _summary(help_text: str) -> str:
    """The first paragraph of a `--help` text (after its usage line), whitespace normalised."""
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", help_text.split("╭")[0])]
    return next(p for p in paragraphs if p and not p.startswith("Usage:"))


def test_every_command_and_option_of_help_is_in_the_cli_reference_with_its_help():
    page = (DOCS / "cli.md").read_text(encoding="utf-8")
    commands = _commands()
    assert ("plan",) in commands and ("data", "check") in commands and ("emulator", "serve") in commands
    seen: set[str] = set()
    for command in commands:
        section = _section(page, " ".join(("ftops", *command)))
        help_text = _help(*command)
        options = _options(help_text)
        seen.update(options)
        for option in options:
            assert f"`{option}`" in section, f"{option} of `ftops {' '.join(command)}` is not in docs/cli.md"
        assert _summary(help_text) in " ".join(section.split()), command
    assert {"--verbose", "--detailed-exitcode", "--n-epochs", "--host"} <= seen  # the panels were read


def _keys(node, path: str = ""):
    """Every property name of a schema, wherever it is (properties, items, branches, alternatives)."""
    if isinstance(node, dict):
        for key, child in (node.get("properties") or {}).items():
            yield f"{path}.{key}".lstrip(".")
            yield from _keys(child, f"{path}.{key}".lstrip("."))
        for child in [node.get("items"), node.get("additionalProperties"), node.get("then"),
                      *node.get("oneOf", []), *node.get("anyOf", []), *node.get("allOf", [])]:
            yield from _keys(child, path)


@pytest.mark.parametrize("schema, page", [("config", "config.md"), ("spec", "spec.md")])
def test_every_schema_key_is_in_its_reference_with_a_description(schema, page):
    text = (DOCS / page).read_text(encoding="utf-8")
    rows = docgen.schema_rows(load_schema(schema))
    assert [r.path for r in rows if not r.description] == [], "add a description to the schema (or its template)"
    documented = {re.sub(r"\.<name>|\[\]", "", r.path) for r in rows}
    for key in set(_keys(load_schema(schema))):
        assert key in documented, f"{key} of the {schema} schema is not in docs/{page}"
    for row in rows:
        assert f"| `{row.path}` |" in text


def test_schema_defaults_and_ranges_are_shown():
    config = (DOCS / "config.md").read_text(encoding="utf-8")
    spec = (DOCS / "spec.md").read_text(encoding="utf-8")
    assert "| `warn_days` | integer (>= 0) | `180` |" in config
    assert '| `providers.<name>.fault_kinds` | list of one of `"429"`' in config
    assert "| `method.hyperparameters.n_epochs` | `\"auto\"` or integer (1 to 1000) | `\"auto\"` |" in spec
    assert "## When `method.type` is `dpo`" in spec and "`method.hyperparameters.beta`" in spec


def test_the_readme_links_the_references():
    readme = README.read_text(encoding="utf-8")
    for name in docgen.PAGES:
        assert f"(docs/{name}" in readme, name
