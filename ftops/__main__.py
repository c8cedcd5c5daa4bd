"""``python -m ftops`` is the ``ftops`` command."""

from ftops.cli.main import run

run()
