"""What the plan says about evals, for every spec with an ``eval:`` block: the numbers the lockfile holds (the
pinned model's, a held-back candidate's, the base model's, and whether the gate passed), whether apply will
evaluate a new model and what that may cost (tokens, and dollars where the provider's table has inference prices),
and notices: a candidate held back (with its numbers), an estimate over the eval's budget.

``prepare`` reads each eval's data (I/O: the file, its token counts cached by content) before the plan is made, so
the plan itself stays pure: it gets the key each eval's numbers depend on now (``PlanOptions.eval_keys``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ftops import cost
from ftops.eval import EvalError, config
from ftops.eval.config import EvalConfig, fbeta_name
from ftops.eval.data import EvalData, load
from ftops.eval.runner import eval_key
from ftops.plan import LAUNCHES, Notice, Plan, PlanOptions
from ftops.providers.registry import kind as kind_of
from ftops.spec import FineTuneSpec, root_base_models

if TYPE_CHECKING:
    from ftops.lockfile import LockEntry
    from ftops.workspace import Workspace

HELD_BACK, WILL_EVALUATE, ACCEPTING, PINNED, NOT_EVALUATED = (
    "held_back", "will_evaluate", "accepting", "pinned", "not_evaluated")
ROLES = ("base", "pinned", "candidate")


@dataclass(frozen=True)
class Prepared:
    """Each spec's eval config and data (or why its data cannot be used), read before the plan is made."""

    configs: dict[str, EvalConfig] = field(default_factory=dict)
    data: dict[str, EvalData] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def keys(self) -> dict[str, str]:
        return {name: eval_key(self.configs[name], data) for name, data in self.data.items()}


@dataclass(frozen=True)
class Estimate:
    examples: int
    models: int  # how many models apply evaluates (the candidate and those it is compared with)
    calls: int
    tokens: int  # expected: the prompts and answers as long as the expected ones
    max_tokens: int  # at most: every answer max_tokens long
    usd: float | None  # None: no inference prices known
    max_usd: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"examples": self.examples, "models": self.models, "calls": self.calls, "tokens": self.tokens,
                "max_tokens": self.max_tokens, "usd": self.usd, "max_usd": self.max_usd}

    def text(self) -> str:
        money = f", est. {cost.format_usd(self.usd)} (at most {cost.format_usd(self.max_usd)})" \
            if self.usd is not None and self.max_usd is not None else " (no inference prices known)"
        return (f"{self.calls:,} calls ({self.examples:,} examples x {self.models} model"
                f"{'s' if self.models != 1 else ''}), ~{self.tokens:,} tokens (at most {self.max_tokens:,}){money}")


@dataclass(frozen=True)
class MetricRow:
    name: str
    base: float | None = None
    pinned: float | None = None
    candidate: float | None = None
    passed: bool | None = None  # the gate rules on this metric, where they were checked

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.name, "base": self.base, "pinned": self.pinned, "candidate": self.candidate,
                "passed": self.passed}


@dataclass(frozen=True)
class EvalView:
    spec: str
    status: str
    summary: str
    models: dict[str, str | None]
    metrics: tuple[MetricRow, ...]
    gate: tuple[dict[str, Any], ...]  # {rule, metric, value, threshold, passed, note}; unchecked: value None
    passed: bool | None
    estimate: Estimate | None = None
    data: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"spec": self.spec, "status": self.status, "summary": self.summary, "data": self.data,
                "models": dict(self.models), "metrics": [m.to_dict() for m in self.metrics],
                "gate": [dict(g) for g in self.gate], "passed": self.passed,
                "estimate": self.estimate.to_dict() if self.estimate else None}


def _info(ws: Workspace, spec: FineTuneSpec, root: str | None):
    pconf = ws.config.providers[spec.provider]
    kind = kind_of(pconf.type).effective(pconf)
    return kind.lookup(root) if root else None


def prepare(ws: Workspace) -> Prepared:
    """Read every eval's data (the spec's eval.data, else its validation file)."""
    out = Prepared()
    roots = root_base_models(ws.specs)
    for spec in ws.specs:
        cfg = config.of_spec(spec)
        if cfg is None:
            continue
        out.configs[spec.name] = cfg
        ref = spec.eval_data or spec.validation_file
        if ref is None:
            out.errors[spec.name] = "the eval has no data: set eval.data, or validation_file"
            continue
        try:
            out.data[spec.name] = load(ref.path, ref.rel, method=spec.method_type,
                                       info=_info(ws, spec, roots[spec.name]), cache_dir=ws.config.state_dir)
        except EvalError as exc:
            out.errors[spec.name] = exc.message
    return out


def estimate(cfg: EvalConfig, data: EvalData, models: int, prices: dict[str, float]) -> Estimate:
    answers = sum(min(c.expected_tokens, cfg.max_tokens) for c in data.cases)
    n = len(data.cases)
    usd = max_usd = None
    if "input" in prices and "output" in prices:
        usd = round(models * (data.prompt_tokens * prices["input"] + answers * prices["output"]) / 1e6, 6)
        max_usd = round(models * (data.prompt_tokens * prices["input"] + n * cfg.max_tokens * prices["output"])
                        / 1e6, 6)
    return Estimate(n, models, n * models, models * (data.prompt_tokens + answers),
                    models * (data.prompt_tokens + n * cfg.max_tokens), usd, max_usd)


def metric_names(cfg: EvalConfig, data: EvalData | None) -> list[str]:
    """The metrics an eval of ``data`` reports (per-class ones for the labels the data expects)."""
    from ftops.eval.metrics import label

    names: list[str] = []
    labels = sorted({label(c.expected) for c in data.cases}) if data else []
    for name in cfg.metrics:
        if name == "per_class":
            names += [f"{m}[{c}]" for c in labels for m in ("precision", "recall", "f1")]
        elif name == "fbeta":
            names += ["precision", "recall"] + [fbeta_name(b) for b in cfg.betas]
        else:
            names.append(name)
    return names


def _rows(record: dict[str, Any] | None, names: list[str], roles: dict[str, str]) -> tuple[MetricRow, ...]:
    """Rows from an eval record: ``roles`` maps a column (base, pinned, candidate) to the record's role."""
    values = (record or {}).get("metrics") or {}
    checks = (record or {}).get("gate") or []
    order = list(dict.fromkeys(list(values) + [n for n in names if n not in values]))
    rows = []
    for name in order:
        per_role = values.get(name) or {}
        rules = [c for c in checks if c.get("metric") == name]
        passed = all(c.get("passed") for c in rules) if rules else None
        rows.append(MetricRow(name, **{column: per_role.get(role) for column, role in roles.items()},
                              passed=passed))
    return tuple(rows)


def _failed(record: dict[str, Any]) -> str:
    failed = [c for c in record.get("gate") or [] if not c.get("passed")]
    return "; ".join(f"{c['rule']} (" + (f"{c['metric']} {c['value']:g}" if c.get("value") is not None else
                                          c.get("note") or "no value")
                     + (f" vs {c['threshold']:g}" if c.get("threshold") is not None else "") + ")" for c in failed)


def view(spec: FineTuneSpec, entry: LockEntry | None, cfg: EvalConfig, data: EvalData | None, actions: list,
         opts: PlanOptions, prices: dict[str, float]) -> tuple[EvalView, list[Notice]]:
    names = metric_names(cfg, data)
    rules = tuple({"rule": r.text, "metric": r.metric, "value": None, "threshold": None, "passed": None,
                   "note": None} for r in cfg.gate)
    pinned_model = entry.model if entry else None
    candidate = entry.candidate if entry else None
    notices: list[Notice] = []
    trains = any(a.launches or a.kind in ("record", "adopt") for a in actions)
    models = {"base": None, "pinned": pinned_model, "candidate": None}
    if spec.name in opts.accept and candidate:
        models["candidate"] = candidate.get("model")
        rec = candidate.get("eval") or {}
        rows = _rows(rec, names, {"base": "base", "pinned": "pinned", "candidate": "candidate"})
        return EvalView(spec.name, ACCEPTING, f"--accept pins the held-back candidate {candidate.get('model')} "
                        "without evaluating it again", models | {"base": (rec.get("models") or {}).get("base")},
                        rows, tuple(rec.get("gate") or ()), False, data=data.rel if data else None), notices
    if trains:
        count = 1 + ("base" in cfg.compare_to) + ("pinned" in cfg.compare_to and pinned_model is not None)
        est = estimate(cfg, data, count, prices) if data else None
        rec = entry.eval if entry else None
        pinned_is_recorded = bool(rec and (rec.get("models") or {}).get("candidate") == pinned_model)
        rows = _rows(rec if pinned_is_recorded else None, names, {"base": "base", "pinned": "candidate"})
        summary = "apply evaluates the new model" + (f" ({est.text()})" if est else "") + \
            (" and pins it only if the gate passes" if cfg.gate else "; the eval has no gate, so the pin moves")
        if est is not None:
            notices += _over_budget(spec, cfg, est)
        return EvalView(spec.name, WILL_EVALUATE, summary, models, rows, rules, None, est,
                        data.rel if data else None), notices
    if candidate:
        rec = candidate.get("eval") or {}
        models["candidate"] = candidate.get("model")
        models["base"] = (rec.get("models") or {}).get("base")
        rows = _rows(rec, names, {"base": "base", "pinned": "pinned", "candidate": "candidate"})
        why = _failed(rec)
        summary = (f"candidate {candidate.get('model')} held back: {why or 'the gate did not pass'}; "
                   f"{pinned_model or '(no model)'} stays pinned")
        notices.append(Notice("warning", f"{summary}; `ftops apply --accept {spec.name}` pins it anyway, a spec "
                                         "change trains another", spec=spec.name))
        return EvalView(spec.name, HELD_BACK, summary, models, rows, tuple(rec.get("gate") or ()), False,
                        data=data.rel if data else None), notices
    rec = entry.eval if entry else None
    if rec and pinned_model and (rec.get("models") or {}).get("candidate") == pinned_model:
        models["base"] = (rec.get("models") or {}).get("base")
        rows = _rows(rec, names, {"base": "base", "pinned": "candidate"})
        accepted = " (accepted with --accept)" if rec.get("accepted") else ""
        summary = f"{pinned_model} was evaluated when it was pinned{accepted}"
        return EvalView(spec.name, PINNED, summary, models, rows, tuple(rec.get("gate") or ()),
                        bool(rec.get("passed")) or bool(rec.get("accepted")), data=data.rel if data else None), \
            notices
    summary = "no eval recorded for the pinned model yet (`ftops eval " + spec.name + "` runs it now)" \
        if pinned_model else "no model yet"
    return EvalView(spec.name, NOT_EVALUATED, summary, models, _rows(None, names, {}), rules, None,
                    data=data.rel if data else None), notices


def _over_budget(spec: FineTuneSpec, cfg: EvalConfig, est: Estimate) -> list[Notice]:
    found = []
    if cfg.budget_tokens is not None and est.max_tokens > cfg.budget_tokens:
        found.append(Notice("error", f"the eval may use {est.max_tokens:,} tokens, over eval.budget_tokens "
                                     f"{cfg.budget_tokens:,} (lower eval.sampling.max_tokens, or raise the budget)",
                            spec=spec.name))
    if cfg.budget_usd is not None:
        if est.max_usd is None:
            found.append(Notice("warning", "no inference prices are known for this model, so eval.budget_usd "
                                           "cannot be checked (eval.budget_tokens can)", spec=spec.name))
        elif est.max_usd > cfg.budget_usd:
            found.append(Notice("error", f"the eval may cost {cost.format_usd(est.max_usd)}, over eval.budget_usd "
                                         f"{cost.format_usd(cfg.budget_usd)}", spec=spec.name))
    return found


def with_evals(plan: Plan, ws: Workspace, prepared: Prepared, opts: PlanOptions) -> Plan:
    """``plan`` with each spec's eval view and the eval notices."""
    views: list[EvalView] = []
    notices: list[Notice] = []
    roots = root_base_models(ws.specs)
    hidden = set(plan.hidden)
    for spec in ws.specs:
        cfg = prepared.configs.get(spec.name)
        if cfg is None or spec.name in hidden or (opts.targets and spec.name not in opts.targets):
            continue
        if spec.name in prepared.errors:
            notices.append(Notice("error", f"eval: {prepared.errors[spec.name]}", spec=spec.name))
        info = _info(ws, spec, roots[spec.name])
        found, said = view(spec, ws.lock.get(spec.name), cfg, prepared.data.get(spec.name),
                           [a for a in plan.actions if a.spec == spec.name], opts,
                           info.inference_prices if info else {})
        views.append(found)
        notices += said
    if not views and not notices:
        return plan
    ordered = sorted(list(plan.notices) + notices,
                     key=lambda n: (n.level != "error", n.days_left if n.days_left is not None else 10**6))
    return replace(plan, evals=tuple(views), notices=tuple(ordered))


__all__ = ["EvalView", "Estimate", "LAUNCHES", "MetricRow", "Prepared", "prepare", "with_evals"]
