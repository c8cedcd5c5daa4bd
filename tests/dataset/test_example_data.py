"""The README's `ftops data prepare` command makes exactly the ticket classifier's committed files."""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

from ftops.cli.main import main
from tests.docs.runner import extract

REPO = Path(__file__).parents[2]
TICKETS = Path("specs/data/tickets")


def _readme_command() -> list[str]:
    lines = [command.text for block in extract((REPO / "README.md").read_text(encoding="utf-8"), "README.md")
             for command in block.commands if command.text.startswith(f"ftops data prepare {TICKETS}/raw.csv ")]
    assert len(lines) == 1, "the README shows the command that made the committed ticket files"
    return shlex.split(lines[0])[1:]


def test_the_readme_command_reproduces_the_committed_ticket_files(tmp_path, capsys):
    (tmp_path / TICKETS).mkdir(parents=True)
    shutil.copy(REPO / TICKETS / "raw.csv", tmp_path / TICKETS / "raw.csv")
    rc = main(["-C", str(tmp_path), *_readme_command()])
    out = capsys.readouterr().out
    assert rc == 0, out
    for name in ("train.jsonl", "valid.jsonl"):
        assert (tmp_path / TICKETS / name).read_bytes() == (REPO / TICKETS / name).read_bytes(), name
    spec = (REPO / "specs/ticket-classifier.yaml").read_text(encoding="utf-8")
    assert "training_file: data/tickets/train.jsonl" in spec and "validation_file: data/tickets/valid.jsonl" in spec
