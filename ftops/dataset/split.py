"""A train/validation split that is deterministic for a seed, can keep class proportions, and never puts one
example in both files (identical examples always land on the same side: a provider fails a job whose training
and validation files share an example).

Each file keeps the examples in input order; only which side an example goes to is random.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from ftops.dataset.fixes import Item
from ftops.dataset.index import example_hash
from ftops.dataset.labels import Labels
from ftops.errors import DatasetError


@dataclass
class Split:
    train: list[Item]
    valid: list[Item]
    classes: dict[str, tuple[int, int]] = field(default_factory=dict)  # label -> (training, validation) counts
    kept_together: int = 0  # examples that repeat another and went to the same side with it


def _text(content) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, dict) and isinstance(p.get("text"), str) for p in content):
        return "".join(p["text"] for p in content)
    return None


def label_of(example: dict) -> str | None:
    """The class label of a classification example: the completion, or the last assistant message's text."""
    if isinstance(example.get("completion"), str):
        return example["completion"]
    messages = example.get("messages")
    if isinstance(messages, list):
        answers = [m for m in messages if isinstance(m, dict) and m.get("role") == "assistant"]
        if answers and not answers[-1].get("tool_calls"):
            return _text(answers[-1].get("content"))
    return None


def classes_of(items: list[Item]) -> dict[str, int] | None:
    """Per-class counts when the examples look like classification (by the rule ``data check`` uses), else None."""
    labels = [label_of(i.example) for i in items]
    if not labels or any(label is None for label in labels):
        return None
    counts = Labels()
    for label in labels:
        counts.add(label)
    return counts.classes()


def _take(groups: list[list[Item]], target: int, rng: random.Random) -> set[int]:
    """Rows of whole groups picked at random, each taken when it still fits in ``target`` examples."""
    order = sorted(groups, key=lambda g: g[0].row)
    rng.shuffle(order)
    taken: set[int] = set()
    for group in order:
        if len(taken) + len(group) <= target:
            taken.update(i.row for i in group)
    return taken


def _target(n: int, fraction: float) -> int:
    return min(max(int(n * fraction + 0.5), 0), n - 1) if n > 1 else 0


def split(items: list[Item], fraction: float, *, seed: int, stratify: bool = False) -> Split:
    """Send about ``fraction`` of the examples (of each class, with ``stratify``) to validation."""
    if not 0 < fraction < 1:
        raise DatasetError(f"--split {fraction}: give the validation share as a number between 0 and 1, e.g. 0.2")
    groups: dict[int, list[Item]] = {}
    for item in items:
        groups.setdefault(example_hash(item.example), []).append(item)
    strata: dict[str, list[list[Item]]] = {"": list(groups.values())}
    if stratify:
        if classes_of(items) is None:
            raise DatasetError("--stratify needs classification data: a short label (the completion, or the last "
                               "assistant message) shared by many examples; these labels look like free text",
                               hint="drop --stratify for a plain random split")
        strata = {}
        for group in groups.values():
            strata.setdefault(str(label_of(group[0].example)), []).append(group)
    rng = random.Random(seed)
    valid_rows: set[int] = set()
    for label in sorted(strata):
        stratum = strata[label]
        valid_rows |= _take(stratum, _target(sum(len(g) for g in stratum), fraction), rng)
    train = [i for i in items if i.row not in valid_rows]
    valid = [i for i in items if i.row in valid_rows]
    if not train or not valid:
        raise DatasetError(f"--split {fraction} of {len(items)} example(s) leaves "
                           f"{'no validation' if not valid else 'no training'} example",
                           hint="prepare more examples, or change the --split share")
    classes = {}
    if stratify:
        for label in sorted(strata):
            rows = {i.row for g in strata[label] for i in g}
            classes[label] = (len(rows - valid_rows), len(rows & valid_rows))
    return Split(train, valid, classes, sum(len(g) - 1 for g in groups.values()))
