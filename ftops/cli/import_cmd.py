"""``ftops import NAME JOB_OR_MODEL_ID``: bring a fine-tune made outside ftops under a spec, honestly.

It records what the provider says (the job, its model, hyperparameters and file ids) and compares it with the
spec input by input. When every input is verified to match, the next plan adopts the model (no training); when
any input differs or cannot be verified, the next plan says which and retrains, keeping the imported model pinned
until the new one succeeds. Nothing is invented: an input the provider does not report stays unverified.
"""

from __future__ import annotations

import typer

from ftops.cli import jobctx
from ftops.cli.completion_cmd import complete_spec_names
from ftops.cli.output import EXIT_OK, echo
from ftops.errors import NotFoundError, PlanError, ProviderError


def import_(name: str = typer.Argument(..., metavar="NAME", help="The spec to bring the fine-tune under.",
                                       autocompletion=complete_spec_names),
            ref: str = typer.Argument(..., metavar="JOB_OR_MODEL_ID", help="The provider's job id or model id."),
            lock_timeout: float = typer.Option(0.0, "--lock-timeout",
                                               help="Wait this long for another apply.")) -> int:
    """Record an existing fine-tune (made outside ftops) as spec NAME's model; the next plan says whether it is
    adopted as it is or retrained, and why."""
    from typing import cast

    from ftops import importer, lifecycle
    from ftops.apply import _job_record
    from ftops.config import require_project
    from ftops.fingerprint import fingerprint
    from ftops.lockfile import LockEntry
    from ftops.lockstore import LockStore
    from ftops.plan import desired_inputs
    from ftops.projectlock import ProjectLock
    from ftops.providers import base as states
    from ftops.providers.base import Imports
    from ftops.providers.registry import kind as kind_of
    from ftops.workspace import plan_options

    ws = jobctx.workspace(check_data=True)
    spec = ws.spec(name)
    if spec is None:
        raise PlanError(f"there is no spec {name!r}; write the spec first, then import into it",
                        hint="the spec says what the model should be; import checks the fine-tune against it")
    entry = ws.lock.get(name)
    if entry is not None and (entry.model or entry.pending):
        raise PlanError(f"{name} already has a lockfile entry ({entry.model or 'a job in flight'}); import only "
                        "into a spec ftops has not trained", hint=f"`ftops delete {name}` removes the entry first")
    pconf = ws.config.providers[spec.provider]
    kind = kind_of(pconf.type).effective(pconf)
    with jobctx.pool(ws) as pool:
        provider = pool(spec.provider)
        lifecycle.require(provider, "import")
        finder = cast(Imports, provider)
        job = None
        try:
            job = provider.get_job(ref)
        except (NotFoundError, ProviderError):
            job = finder.job_of_model(ref)
        model = provider.get_model(job.fine_tuned_model if job and job.fine_tuned_model else ref)
        if job is None and model is None:
            raise PlanError(f"{spec.provider} knows no job and no model {ref!r}")
        if job is not None and job.state != states.SUCCEEDED:
            raise PlanError(f"job {job.id} is {job.raw_status}; only a job that succeeded can be imported",
                            hint="import it once it has succeeded" if job.state in states.IN_FLIGHT else None)
        if job is not None and job.fine_tuned_model and model is None:
            raise PlanError(f"job {job.id} made {job.fine_tuned_model}, which {spec.provider} no longer has")
        parent = ws.lock.get(spec.parent) if spec.parent else None
        inputs = desired_inputs(spec, ws.facts[name], (parent.trained_model or parent.model) if parent else None,
                                plan_options(ws))
        staged = {role: finder.staged_file(ref_.path, inputs[role]["sha256"])
                  for role, ref_ in (("training_file", spec.training_file), ("validation_file", spec.validation_file))
                  if ref_ is not None and inputs.get(role)}
    assert model is not None
    if job is None:
        findings = [f"{spec.provider} names no job that trained {model.id}: none of its inputs can be verified"]
    else:
        findings = importer.compare(spec, inputs, job, staged, kind)
    if not inputs.get("base_model"):
        findings.append(f"its parent spec {spec.parent!r} has no pinned model yet")
    matches = not findings
    imported = {"from": ref, "at": jobctx.now_iso(), "job_id": job.id if job else None, "matches": matches,
                **({"fingerprint": fingerprint(inputs)} if matches else {}), "findings": findings,
                "observed": importer.observed(job) if job else {"model": model.id}}
    record = LockEntry(name=name, provider=spec.provider, model=model.id, protect=spec.protect,
                       job=_job_record(job) if job else None, imported=imported, recorded_at=jobctx.now_iso(),
                       model_shutdown_date=model.shutdown_date)
    with ProjectLock(require_project(ws.config).state_dir, timeout=lock_timeout, command="import"):
        LockStore(ws.config.lockfile, ws.lock).update(name, lambda e: record)
    echo(f"{name}: imported {model.id}" + (f" (job {job.id})" if job else "") + f" into "
         f"{ws.config.rel(ws.config.lockfile)}")
    if matches:
        echo("Every input matches the spec: the next `ftops plan` adopts it (no training), and `ftops apply` "
             "records it.")
    else:
        echo("It does not match the spec, so the next `ftops plan` retrains it (the imported model stays pinned "
             "until the new one succeeds):")
        for finding in findings:
            echo(f"  - {finding}")
    return EXIT_OK
