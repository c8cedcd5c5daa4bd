"""The gate: rules a candidate's eval must pass for the pin to move, written as text in the spec::

    gate: ["accuracy >= 0.85", "accuracy >= pinned - 0.01", "macro_f1 > base"]

A rule is ``METRIC OP VALUE``: OP one of ``>= > <= < ==``; VALUE a number, or ``base`` / ``pinned`` (the same
metric of that model), optionally ``+ N`` or ``- N``. A rule that compares with a model there is none of (no pin
yet), or with a metric that model has no value for, passes and says why; a metric the candidate has no value for
fails it.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Any, Callable

OPS: dict[str, Callable[[float, float], bool]] = {">=": operator.ge, ">": operator.gt, "<=": operator.le,
                                                  "<": operator.lt, "==": operator.eq}
ROLES = ("base", "pinned")
_RULE = re.compile(r"^\s*(?P<metric>[A-Za-z_][\w.\-]*(?:\[[^\]]+\])?)\s*(?P<op>>=|<=|==|>|<)\s*(?P<rhs>.+?)\s*$")
_RHS = re.compile(r"^(?:(?P<number>[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|[-+]?\.\d+)|(?P<role>base|pinned)"
                  r"(?:\s*(?P<sign>[-+])\s*(?P<offset>\d+(?:\.\d*)?|\.\d+))?)$")


@dataclass(frozen=True)
class Rule:
    text: str
    metric: str
    op: str
    number: float | None = None  # a fixed threshold
    role: str | None = None  # or the same metric of this model...
    offset: float = 0.0  # ...plus this

    def threshold(self, values: dict[str, dict[str, float | None]]) -> float | None:
        """The value to compare with (``values``: role -> metric -> value), or None when there is none."""
        if self.role is None:
            return self.number
        found = (values.get(self.role) or {}).get(self.metric)
        return None if found is None else found + self.offset


def parse_rule(text: str) -> Rule:
    """A rule from its text; ValueError saying what is wrong."""
    found = _RULE.match(text)
    if not found:
        raise ValueError(f"{text!r} is not a rule like \"accuracy >= 0.85\" or \"accuracy >= pinned - 0.01\"")
    rhs = _RHS.match(found.group("rhs"))
    if not rhs:
        raise ValueError(f"{text!r}: compare with a number, base or pinned (optionally + or - a number), not "
                         f"{found.group('rhs')!r}")
    offset = float(rhs.group("offset") or 0) * (-1 if rhs.group("sign") == "-" else 1)
    number = float(rhs.group("number")) if rhs.group("number") else None
    return Rule(text.strip(), found.group("metric"), found.group("op"), number, rhs.group("role"), offset)


def rules_of(raw: Any) -> list[Rule]:
    texts = [raw] if isinstance(raw, str) else list(raw or [])
    return [parse_rule(t) for t in texts]


@dataclass(frozen=True)
class Check:
    rule: str
    metric: str
    value: float | None  # the candidate's
    threshold: float | None
    passed: bool
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "metric": self.metric, "value": self.value, "threshold": self.threshold,
                "passed": self.passed, "note": self.note}


def check(rules: list[Rule], values: dict[str, dict[str, float | None]]) -> list[Check]:
    """Each rule against ``values`` (role -> metric -> value; the role ``candidate`` is the model judged)."""
    out = []
    for rule in rules:
        value = (values.get("candidate") or {}).get(rule.metric)
        threshold = rule.threshold(values)
        if value is None:
            out.append(Check(rule.text, rule.metric, None, threshold, False,
                             f"the candidate has no {rule.metric} value"))
        elif threshold is None:
            why = (f"no {rule.role} model to compare with" if rule.role and not values.get(rule.role) else
                   f"{rule.role} has no {rule.metric} value")
            out.append(Check(rule.text, rule.metric, value, None, True, why + "; the rule is skipped"))
        else:  # rounded: "accuracy >= pinned - 0.01" must not fail on 0.9 - 0.01 = 0.8900000000000001
            threshold = round(threshold, 9)
            out.append(Check(rule.text, rule.metric, value, threshold, OPS[rule.op](round(value, 9), threshold)))
    return out
