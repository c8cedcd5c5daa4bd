"""Field-by-field differences between the inputs a model was trained with and the inputs a spec asks for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ftops.errors import dotted_path
from ftops.numbers import canonical


@dataclass(frozen=True)
class Change:
    field: str  # dotted path, e.g. "method.hyperparameters.n_epochs"
    before: Any
    after: Any
    text: str  # "method.hyperparameters.n_epochs: 3 -> 4"


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return value
    return repr(value) if not isinstance(value, (int, float)) else str(value)


def _file_change(name: str, before: dict | None, after: dict | None) -> Change:
    if before is None or after is None:
        text = f"{name}: {(before or {}).get('path', '(none)')} -> {(after or {}).get('path', '(none)')}"
        return Change(name, before and before.get("sha256"), after and after.get("sha256"), text)
    delta = ""
    if isinstance(before.get("examples"), int) and isinstance(after.get("examples"), int):
        d = after["examples"] - before["examples"]
        delta = f" ({'+' if d >= 0 else ''}{d} examples)"
    text = f"{name}: sha256 {before['sha256'][:8]}.. -> {after['sha256'][:8]}..{delta}"
    if before.get("path") != after.get("path"):
        text += f", {before.get('path')} -> {after.get('path')}"
    return Change(name, before["sha256"], after["sha256"], text)




def _declared(inputs: dict[str, Any]) -> dict[str, Any]:
    """Inputs as the user declared them: a lockfile of ftops 0.1 recorded every hyperparameter, "auto" included,
    which is the same as leaving it out; numbers canonical (3.0 is 3)."""
    method = inputs.get("method")
    if isinstance(method, dict) and isinstance(method.get("hyperparameters"), dict):
        hyper = {k: v for k, v in method["hyperparameters"].items()
                 if v != "auto" and not (k == "reasoning_effort" and v == "default")}
        inputs = {**inputs, "method": {**method, "hyperparameters": hyper}}
    return canonical(inputs)


def input_changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[Change]:
    """What differs between two ``inputs`` records, in the fields that decide the trained model."""
    before = _declared(before or {})
    after = _declared(after)
    changes: list[Change] = []
    for name in ("training_file", "validation_file"):
        b, a = before.get(name), after.get(name)
        if (b or {}).get("sha256") != (a or {}).get("sha256"):
            changes.append(_file_change(name, b, a))
    strip = ("training_file", "validation_file")
    left = {k: v for k, v in before.items() if k not in strip}
    right = {k: v for k, v in after.items() if k not in strip}
    if left == right:
        return sorted(changes, key=lambda c: c.field)
    from deepdiff import DeepDiff  # imported when something differs: it costs 0.1 s (pydantic) to import

    diff = DeepDiff(left, right, ignore_order=False, verbose_level=2)
    for kind in ("values_changed", "type_changes", "dictionary_item_added", "dictionary_item_removed",
                 "iterable_item_added", "iterable_item_removed"):
        for level in diff.tree.get(kind, []):
            path = level.path(output_format="list")
            b = None if kind.endswith("added") else level.t1
            a = None if kind.endswith("removed") else level.t2
            field = dotted_path(path)
            shown = (lambda v: "auto" if v is None else _show(v)) if field.startswith("method.hyperparameters.") \
                else _show
            changes.append(Change(field, b, a, f"{field}: {shown(b)} -> {shown(a)}"))
    return sorted(changes, key=lambda c: (c.field not in strip, c.field))
