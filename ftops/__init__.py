"""ftops: manage LLM fine-tunes as code. Specs -> plan -> apply -> ftops.lock.

Applications read pinned models with :func:`pinned_model`.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["pinned_model"]


def pinned_model(name: str, *, start: str | Path | None = None) -> str:
    """The model pinned for spec ``name`` in the nearest ``ftops.lock`` (searching upwards from ``start`` or the
    current directory; a project's ``ftops.yaml`` may name another lockfile). Raises ``LookupError`` when no
    model is pinned, so an application never starts with a half-trained state."""
    from ftops.config import CONFIG_NAME, load_config
    from ftops.lockfile import read_lockfile

    here = Path(start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / CONFIG_NAME).is_file():
            path = load_config(directory).lockfile
        elif (directory / "ftops.lock").is_file():
            path = directory / "ftops.lock"
        else:
            continue
        entry = read_lockfile(path).get(name)
        if entry is None or not entry.model:
            raise LookupError(f"no model is pinned for {name!r} in {path}")
        return entry.model
    raise LookupError(f"no ftops.lock found at or above {here}")
