"""Edit spec files the way a person would: change or add the keys asked for, remove others, and keep every
comment, the key order, flow style and quoting. ruamel.yaml's round-trip mode does the preserving (the
standard library for it); this module only says which keys change."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ftops.errors import SpecError

INSERT_AFTER = {"provider": "name"}  # a key the spec did not have goes after this one


def _round_trip():
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a line
    return yaml


def edit_spec_text(text: str, spec: str, sets: dict[tuple, Any], removes: tuple[tuple, ...] = ()) -> str:
    """``text`` (a spec file, one or more documents) with the document named ``spec`` edited."""
    yaml = _round_trip()
    documents = list(yaml.load_all(text))
    target = next((d for d in documents if isinstance(d, dict) and d.get("name") == spec), None)
    if target is None:
        raise SpecError(f"no document named {spec!r} to edit")
    for path, value in sets.items():
        parent: Any = target
        for key in path[:-1]:
            parent = parent.setdefault(key, {})
        key = path[-1]
        if key in parent or len(path) > 1 or key not in INSERT_AFTER or INSERT_AFTER[key] not in parent:
            parent[key] = value
        else:
            parent.insert(list(parent).index(INSERT_AFTER[key]) + 1, key, value)
    for path in removes:
        parent = target
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if isinstance(parent, dict):
            parent.pop(path[-1], None)
    out = io.StringIO()
    if len(documents) == 1 and not text.lstrip().startswith("---"):
        yaml.dump(documents[0], out)
    else:
        yaml.dump_all(documents, out)
    return out.getvalue()


def edit_spec_file(path: Path, spec: str, sets: dict[tuple, Any], removes: tuple[tuple, ...] = ()) -> str:
    return edit_spec_text(path.read_text(encoding="utf-8"), spec, sets, removes)
