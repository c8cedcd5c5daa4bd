"""The eval gate ``ftops apply`` runs after a job succeeds (and after its deploy step, where there is one: the name
applications will call is what is evaluated), before the pin moves (``ApplyOptions.gate``).

The candidate is evaluated with the models the eval compares it with: the base model (what the spec trained from:
its base model, or for a spec that continues another, that spec's pinned model) and the model pinned now. If the
gate passes, the pin moves and the lockfile keeps the eval with it; if not, the lockfile records the candidate with
its eval, the pin stays, and ``ftops apply --accept NAME`` is the explicit way to pin it anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from ftops.apply import GateVerdict
from ftops.eval import config, runner
from ftops.eval.data import load
from ftops.lockfile import Lockfile
from ftops.plan import Action
from ftops.providers.base import Provider
from ftops.providers.registry import kind as kind_of
from ftops.spec import FineTuneSpec, root_base_models

if TYPE_CHECKING:
    from ftops.workspace import Workspace


def summary(report: runner.Report, limit: int = 3) -> str:
    """The gate's metrics in a line: ``accuracy 0.93 (pinned 0.90, base 0.00)``."""
    parts = []
    for name in list(dict.fromkeys(c.metric for c in report.checks))[:limit] or report.metric_names[:limit]:
        values = {role: result.metrics.get(name) for role, result in report.results.items()}
        if values.get("candidate") is None:
            continue
        others = ", ".join(f"{role} {values[role]:g}" for role in ("pinned", "base") if values.get(role) is not None)
        parts.append(f"{name} {values['candidate']:g}" + (f" ({others})" if others else ""))
    return "; ".join(parts)


def failures(report: runner.Report) -> str:
    return "; ".join(f"{c.rule}: {c.metric} {c.value:g}" + (f" < {c.threshold:g}" if c.threshold is not None and
                                                             c.value is not None and c.value < c.threshold else
                                                             f" vs {c.threshold:g}" if c.threshold is not None
                                                             else "")
                     if c.value is not None else f"{c.rule}: {c.note}" for c in report.checks if not c.passed)


@dataclass
class EvalGate:
    """``ApplyOptions.gate`` for a workspace: evaluates each new model of a spec with an eval."""

    ws: Workspace
    providers: Callable[[str], Provider]
    accept: frozenset[str] = frozenset()
    say: Callable[[str], None] = print
    reports: dict[str, runner.Report] = field(default_factory=dict)  # spec -> the eval run in this apply

    def base_model(self, spec: FineTuneSpec, action: Action, lock: Lockfile) -> str | None:
        if spec.parent:
            parent = lock.get(spec.parent)
            return parent.model if parent else None
        return (action.inputs or {}).get("base_model") or spec.base_model

    def __call__(self, action: Action, spec: FineTuneSpec, model: str, lock: Lockfile) -> GateVerdict | None:
        cfg = config.of_spec(spec)
        if cfg is None:
            return None
        entry = lock.get(spec.name)
        candidate = entry.candidate if entry else None
        if spec.name in self.accept and candidate and candidate.get("model") == model:
            record = dict(candidate.get("eval") or {}, accepted=True)
            return GateVerdict(True, record, "accepted with --accept; its eval had not passed the gate")
        ws = self.ws
        ref = spec.eval_data or spec.validation_file
        if ref is None:
            from ftops.eval import EvalError

            raise EvalError(f"{spec.name}: the eval has no data (set eval.data, or validation_file)")
        pconf = ws.config.providers[spec.provider]
        root = root_base_models(ws.specs).get(spec.name)
        info = kind_of(pconf.type).effective(pconf).lookup(root) if root else None
        data = load(ref.path, ref.rel, method=spec.method_type, info=info,
                    cache_dir=ws.config.state_dir)
        models = {"candidate": model}
        if "base" in cfg.compare_to:
            base = self.base_model(spec, action, lock)
            if base:
                models["base"] = base
        if "pinned" in cfg.compare_to and entry and entry.model and entry.model != model:
            models["pinned"] = entry.model
        secrets = {v for p in ws.config.providers.values()
                   for v in (kind_of(p.type).key_variable(p),) if v}
        run = runner.Runner(self.providers(spec.provider), cfg, data, ws.config.root,
                            cache=runner.Cache(ws.config.state_dir), secrets=secrets,
                            say=lambda text: self.say(f"{spec.name}: {text}"))
        report = run.run(models)
        self.reports[spec.name] = report
        numbers = summary(report)
        if report.passed:
            return GateVerdict(True, report.record(), f"eval: {numbers}" + ("; gate passed" if cfg.gate else ""))
        pinned = entry.model if entry and entry.model else "(no model)"
        return GateVerdict(False, report.record(), f"candidate {model} held back by the eval gate: "
                           f"{failures(report)}; {pinned} stays pinned (`ftops apply --accept {spec.name}` pins "
                           "it anyway)")
