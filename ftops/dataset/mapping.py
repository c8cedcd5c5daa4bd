"""Which columns hold what: from a table row (or a flat JSON object) to a prompt/completion, chat or DPO example.

Columns are named with options (``--prompt-column``/``--completion-column``; ``--system-column``,
``--user-column``/``--assistant-column``; ``--preferred-column``/``--non-preferred-column`` next to a user or
prompt column), or found by name (case and surrounding spaces ignored): prompt + completion, user + assistant
(+ system), and preferred/chosen + non_preferred/rejected next to prompt or user. Columns no field uses are
reported as ignored, never dropped unannounced.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any, Sequence

from ftops.errors import ConversionError, DatasetError

# field -> the column names it is found under when no option names it
_NAMES = {
    "prompt": ("prompt",), "completion": ("completion",),
    "system": ("system",), "user": ("user",), "assistant": ("assistant",),
    "preferred": ("preferred", "preferred_output", "chosen"),
    "non_preferred": ("non_preferred", "non-preferred", "non_preferred_output", "rejected"),
}
# kind -> (fields it needs, fields it may use); the first kind whose needed fields are all found wins
_KINDS = (
    ("dpo", ("preferred", "non_preferred"), ("system", "user", "prompt")),
    ("chat", ("user", "assistant"), ("system",)),
    ("prompt_completion", ("prompt", "completion"), ()),
)


@dataclass(frozen=True)
class ColumnOptions:
    """Column names given on the command line (None: find it by name) and a fixed system message."""

    prompt: str | None = None
    completion: str | None = None
    system: str | None = None
    user: str | None = None
    assistant: str | None = None
    preferred: str | None = None
    non_preferred: str | None = None
    system_text: str | None = None

    def given(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name != "system_text" and getattr(self, f.name) is not None}


@dataclass(frozen=True)
class Mapping:
    kind: str  # the format the rows make: prompt_completion | chat | dpo
    columns: dict[str, str]  # field -> column, e.g. {"prompt": "Ticket text", "completion": "Category"}
    ignored: tuple[str, ...]  # columns no field reads
    system_text: str | None = None

    def describe(self) -> str:
        used = [f"{name} <- {column!r}" for name, column in self.columns.items()]
        if self.system_text is not None:
            used.append(f"system <- {self.system_text[:40]!r}{'...' if len(self.system_text) > 40 else ''}")
        return ", ".join(used)


def _find(columns: Sequence[str], name: str, given: str | None) -> str | None:
    if given is not None:
        if given in columns:
            return given
        folded = [c for c in columns if c.strip().casefold() == given.strip().casefold()]
        if len(folded) == 1:
            return folded[0]
        raise DatasetError(f"no column named {given!r}; the columns are {', '.join(map(repr, columns))}")
    for candidate in _NAMES[name]:
        found = [c for c in columns if c.strip().casefold() == candidate]
        if found:
            return found[0]
    return None


def resolve(columns: Sequence[str], options: ColumnOptions) -> Mapping:
    """The mapping for these columns; a DatasetError says which options to give when it cannot be found."""
    given = options.given()
    found = {name: _find(columns, name, given.get(name)) for name in _NAMES}
    named_first = sorted(_KINDS, key=lambda k: not any(n in given for n in k[1] + k[2]))  # what the options name
    for kind, needed, optional in named_first:
        if kind == "dpo" and not (found["user"] or found["prompt"]):
            continue
        if all(found[name] for name in needed):
            used = [n for n in needed + optional if found[n]]
            if kind == "dpo" and found["user"] and found["prompt"]:
                used.remove("prompt")
            stray = [f"--{n.replace('_', '-')}-column" for n in given if n not in used]
            if stray:
                raise DatasetError(f"{', '.join(stray)} do(es) not go with the {kind.replace('_', '/')} columns "
                                   f"found ({', '.join(repr(found[n]) for n in used)})")
            mapped = {n: str(found[n]) for n in used}
            ignored = tuple(c for c in columns if c not in mapped.values())
            return Mapping(kind, mapped, ignored, options.system_text)
    raise DatasetError(
        f"cannot tell which columns hold the examples; the columns are {', '.join(map(repr, columns))}",
        hint="name them: --prompt-column C --completion-column C (prompt/completion), --user-column C "
             "--assistant-column C [--system-column C | --system TEXT] (chat), or --preferred-column C "
             "--non-preferred-column C with --user-column C (DPO)")


def _cell(row: dict, column: str) -> str:
    value = row.get(column)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        raise ConversionError(f"column {column!r} holds a JSON {type(value).__name__}, not text")
    return json.dumps(value)


def build(row: dict[str, Any], mapping: Mapping) -> dict:
    """One example of ``mapping.kind`` from a row (cells as text; JSON numbers and booleans as JSON text)."""
    text = {name: _cell(row, column) for name, column in mapping.columns.items()}
    if mapping.kind == "prompt_completion":
        return {"prompt": text["prompt"], "completion": text["completion"]}
    system = text.get("system", mapping.system_text)
    head = [{"role": "system", "content": system}] if system is not None and (system or "system" not in text) else []
    user = {"role": "user", "content": text.get("user", text.get("prompt", ""))}
    if mapping.kind == "chat":
        return {"messages": head + [user, {"role": "assistant", "content": text["assistant"]}]}
    return {"input": {"messages": head + [user]},
            "preferred_output": [{"role": "assistant", "content": text["preferred"]}],
            "non_preferred_output": [{"role": "assistant", "content": text["non_preferred"]}]}
