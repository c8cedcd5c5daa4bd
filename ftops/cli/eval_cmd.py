"""``ftops eval NAME [--model M] [--json]``: run a spec's eval now and print each metric for the base model, the
pinned model and a candidate (``--model``, else the candidate an eval gate held back, if any), with the gate's
verdict on the candidate. Results are cached by (model, eval data, metric config) under ``.ftops/eval/``."""

from __future__ import annotations

from typing import Optional

import typer

from ftops.cli import context
from ftops.cli.completion_cmd import complete_spec_names
from ftops.cli.output import EXIT_OK, echo, emit_json
from ftops.errors import PlanError


def eval_command(
    name: str = typer.Argument(..., help="A spec with an eval: block.", autocompletion=complete_spec_names),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Evaluate this model as the candidate."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> int:
    """Evaluate a spec's models now: base, pinned and a candidate, metric by metric, and the gate."""
    from ftops.cli.project_cmds import _root
    from ftops.eval import config, runner
    from ftops.eval.applygate import EvalGate
    from ftops.eval.data import load
    from ftops.eval.render import report_lines
    from ftops.providers.http import RetryPolicy
    from ftops.providers.registry import kind as kind_of
    from ftops.spec import root_base_models
    from ftops.trust import Trust
    from ftops.workspace import ProviderPool, load_workspace

    ws = load_workspace(_root(), check_data=False)
    spec = ws.spec(name)
    if spec is None:
        raise PlanError(f"no spec named {name!r}")
    cfg = config.of_spec(spec)
    if cfg is None:
        raise PlanError(f"spec {name!r} has no eval: block", hint="add one (README: Evaluations)")
    ref = spec.eval_data or spec.validation_file
    if ref is None:
        raise PlanError(f"spec {name!r}: the eval has no data (set eval.data, or validation_file)")
    entry = ws.lock.get(name)
    pconf = ws.config.providers[spec.provider]
    root = root_base_models(ws.specs).get(name)
    info = kind_of(pconf.type).effective(pconf).lookup(root) if root else None
    data = load(ref.path, ref.rel, method=spec.method_type, info=info, cache_dir=ws.config.state_dir)
    candidate = model or ((entry.candidate or {}).get("model") if entry else None)
    models: dict[str, str] = {}
    if candidate:
        models["candidate"] = candidate
    if "pinned" in cfg.compare_to or not candidate:
        if entry and entry.model and entry.model != candidate:
            models["pinned"] = entry.model
    with ProviderPool(ws.config, Trust.from_environment(context.current.trusted_config),
                      policy=RetryPolicy(sleep=context.current.runtime.sleep)) as pool:
        gate = EvalGate(ws, pool)
        if "base" in cfg.compare_to:
            from ftops.plan import Action

            base = gate.base_model(spec, Action(spec=name, kind="record", provider=spec.provider, reasons=(),
                                                inputs=(entry.inputs if entry else None)), ws.lock)
            if base:
                models["base"] = base
        if not models:
            raise PlanError(f"spec {name!r} has no model to evaluate yet", hint="give one with --model")
        secrets = {v for p in ws.config.providers.values() for v in (kind_of(p.type).key_variable(p),) if v}
        report = runner.Runner(pool(spec.provider), cfg, data, ws.config.root, cache=runner.Cache(ws.config.state_dir),
                               secrets=secrets, say=(lambda text: echo(text, err=True))).run(
            models, now=context.current.runtime.now())
    if json_out:
        emit_json({"spec": name, "data": report.data, "models": report.models,
                   "results": {role: {**r.to_dict(), "cached": r.cached} for role, r in report.results.items()},
                   "metrics": [{"metric": m, **{role: report.results[role].metrics.get(m) if role in report.results
                                                else None for role in ("base", "pinned", "candidate")}}
                               for m in report.metric_names],
                   "gate": [c.to_dict() for c in report.checks],
                   "passed": report.passed if report.checks or "candidate" in report.results else None})
        return EXIT_OK
    for line in report_lines(name, report):
        echo(line)
    return EXIT_OK
