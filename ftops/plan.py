"""The plan: a pure function of (specs, lock entries, observed state, dataset facts) -> ordered actions, each
with its reasons. No I/O happens here; everything the plan needs is passed in. Provider types are read only
through what they declare (ftops.providers.registry), never by name.

Action kinds: create, adopt, replace, drift, retry, wait, record, move, update, repair, forget, delete.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from ftops import cost
from ftops.config import ProviderConfig
from ftops.diff import Change, input_changes
from ftops.fingerprint import file_record, fingerprint, make_inputs, matches
from ftops.launch import KEY_CHARS, LaunchKey
from ftops.lockfile import LockEntry, Lockfile
from ftops.providers import base as states
from ftops.providers.fit import mapping_lines
from ftops.providers.registry import kind as kind_of
from ftops.refresh import Observed, ProviderView
from ftops.spec import FineTuneSpec, root_base_models

LAUNCHES = frozenset({"create", "replace", "drift", "retry"})  # actions that start (and pay for) training
KINDS = ("create", "adopt", "replace", "drift", "retry", "wait", "record", "move", "update", "repair", "forget",
         "delete")


@dataclass(frozen=True)
class DatasetFacts:
    """What the plan needs to know about one dataset file (from the dataset checker)."""

    rel: str
    sha256: str
    bytes: int
    examples: int
    billing_tokens: int
    errors: int = 0
    error_lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class Estimate:
    examples: int
    billing_tokens: int
    epochs: int
    trained_tokens: int
    usd: float | None
    note: str | None = None  # the provider type's word on the cost (what a self-hosted run requests, a rate)


@dataclass(frozen=True)
class Action:
    spec: str
    kind: str
    provider: str
    reasons: tuple[str, ...]
    changes: tuple[Change, ...] = ()
    fingerprint: str | None = None  # the fingerprint the action will train (or record)
    inputs: dict[str, Any] | None = None
    job_id: str | None = None
    model_before: str | None = None
    model_after: str | None = None  # for display: a model name or a note such as "(new)"
    new_model: str | None = None  # the model this action pins, when it is already known (record, adopt)
    after: tuple[str, ...] = ()  # specs that must finish first
    estimate: Estimate | None = None
    stats: dict[str, Any] = field(default_factory=dict)  # dataset before/after figures for reviewers
    moved_from: str | None = None  # for a move: the entry's old name
    models: tuple[str, ...] = ()  # for a delete of superseded models (apply --prune): the models it deletes
    hourly_usd: float | None = None  # what the deployment this action makes costs per hour while it exists
    # Deployments (lockfile deploy records) this action removes (--prune): an update removes them at once; an action
    # that trains or records removes the spec's pinned deployment once the new one is pinned and written down
    undeploy: tuple[dict[str, Any], ...] = ()

    @property
    def launches(self) -> bool:
        return self.kind in LAUNCHES


@dataclass(frozen=True)
class Notice:
    level: str  # "warning" | "error"
    message: str
    spec: str | None = None
    date: str | None = None
    days_left: int | None = None


@dataclass(frozen=True)
class Plan:
    actions: tuple[Action, ...]
    notices: tuple[Notice, ...]
    refreshed: bool
    total_usd: float | None
    unchanged: tuple[str, ...] = ()
    hidden: tuple[str, ...] = ()  # specs with changes that --target left out
    skipped: tuple[str, ...] = ()  # providers the plan could not contact (untrusted endpoint)
    evals: tuple[Any, ...] = ()  # per spec with an eval: its numbers and estimate (ftops.eval.planning.EvalView)

    @property
    def has_changes(self) -> bool:
        return bool(self.actions)

    @property
    def errors(self) -> list[Notice]:
        return [n for n in self.notices if n.level == "error"]


@dataclass(frozen=True)
class PlanOptions:
    today: dt.date
    project: str = "ftops"
    prune: bool = False
    targets: frozenset[str] = frozenset()
    warn_days: int = 180
    prices: dict[str, Any] = field(default_factory=dict)
    budget_usd: float | None = None
    providers: dict[str, ProviderConfig] = field(default_factory=dict)  # name -> its ftops.yaml entry
    retry: frozenset[str] = frozenset()  # specs whose job a person cancelled that may train again (--retry)
    accept: frozenset[str] = frozenset()  # specs whose held-back candidate apply --accept pins
    eval_keys: dict[str, str] = field(default_factory=dict)  # spec -> what its eval's numbers depend on now


SpecFacts = dict[str, DatasetFacts]  # role ("training_file" | "validation_file") -> facts, for one spec


def provider_type(opts: PlanOptions, provider: str) -> str | None:
    """The type whose vocabulary and options apply (the built-in emulator's is the API it speaks)."""
    pconf = opts.providers.get(provider)
    return kind_of(pconf.type).effective(pconf).type if pconf else None


def key_chars(opts: PlanOptions, provider: str) -> int:
    """How much of a launch key ``provider`` carries on its jobs (``Capabilities.key_chars``)."""
    pconf = opts.providers.get(provider)
    return kind_of(pconf.type).effective(pconf).capabilities.key_chars if pconf else KEY_CHARS


def describe_deploy(target: dict[str, Any] | None) -> str:
    """A spec's deploy block in words: "deployment NAME", "serverless", or "the provider's default"."""
    if target is None:
        return "(none)"
    if target.get("deployment"):
        return f"deployment {target['deployment']}"
    if target.get("name"):  # a deployment of its own, named after it, with the provider's settings
        details = ", ".join(f"{k} {v}" for k, v in sorted(target.items()) if k != "name")
        return f"deployment {target['name']}" + (f" ({details})" if details else "")
    return "serverless" if target.get("serverless") else "the provider's default"


def deploy_outdated(target: dict[str, Any] | None, recorded: dict[str, Any] | None) -> bool:
    """Whether the pinned model's deploy step differs from the spec's ``deploy`` (another target, or a deploy
    that is not finished): then apply deploys it, without training again."""
    if target is None:
        return recorded is not None
    return recorded is None or recorded.get("target") != target or recorded.get("state") != states.DEPLOYED


def desired_inputs(spec: FineTuneSpec, facts: SpecFacts, parent_model: str | None,
                   opts: PlanOptions) -> dict[str, Any]:
    def record(role):
        f = facts.get(role)
        return file_record(f.rel, f.sha256, f.bytes, f.examples, f.billing_tokens) if f else None

    options = spec.provider_options.get(provider_type(opts, spec.provider) or "")
    return make_inputs(provider=spec.provider, base_model=spec.base_model or parent_model, parent=spec.parent,
                       method=spec.method, seed=spec.seed, suffix=spec.suffix,
                       training_file=record("training_file"), validation_file=record("validation_file"),
                       provider_options=options or None)


def estimate(spec: FineTuneSpec, facts: SpecFacts, model: str | None, opts: PlanOptions) -> Estimate:
    train = facts["training_file"]
    pconf = opts.providers.get(spec.provider)
    kind = kind_of(pconf.type).effective(pconf) if pconf else None
    epochs = cost.resolve_epochs(train.examples, spec.n_epochs,
                                 kind.capabilities.default_epochs if kind else "auto")
    usd, note = None, None
    if model and kind:
        price = cost.price_per_1m(model, kind.lookup(model), method=spec.method_type,
                                  training_type=spec.method.get("training_type"), overrides=opts.prices,
                                  provider=spec.provider)
        usd = cost.estimate_cost(train.billing_tokens, epochs, price)
    if usd is None and kind and pconf:  # no price table: the provider type may still say what the run costs
        usd, note = kind.run_estimate(pconf, spec.provider_options.get(kind.type) or {},
                                      train.billing_tokens * epochs)
    return Estimate(train.examples, train.billing_tokens, epochs, train.billing_tokens * epochs, usd, note)


MISSING = "missing"  # the lockfile names a job the provider does not know (any more)


def _state(entry: LockEntry, observed: Observed) -> tuple[str, Any]:
    """Canonical state of the entry's pending job: from the provider when refreshed, else from the lockfile."""
    pending = entry.pending or {}
    job_id = pending.get("job_id")
    if job_id in observed.view(entry.provider).missing_jobs:
        return MISSING, None
    job = observed.job(entry.provider, job_id)
    if job is not None:
        return job.state, job
    return pending.get("state") or states.UNKNOWN, None


def _stats(entry: LockEntry | None, inputs: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name in ("training_file", "validation_file"):
        before = ((entry.inputs or {}).get(name) if entry else None) or {}
        after = inputs.get(name) or {}
        if before or after:
            out[name] = {"examples": [before.get("examples"), after.get("examples")],
                         "tokens": [before.get("tokens"), after.get("tokens")]}
    return out


@dataclass(frozen=True)
class _Context:
    spec: FineTuneSpec
    inputs: dict[str, Any]
    fp: str | None
    view: ProviderView
    opts: PlanOptions

    def key(self, fp: str | None = None) -> str | None:
        """The launch key as this spec's provider carries it (what refresh indexed its jobs by)."""
        fp = fp or self.fp
        return LaunchKey(self.opts.project, self.spec.name, fp).carried(key_chars(self.opts, self.spec.provider)) \
            if fp else None

    def same(self, recorded: str | None) -> bool:
        return matches(recorded, self.inputs, self.spec.method_as_written)


def _plan_spec(spec: FineTuneSpec, entry: LockEntry | None, observed: Observed, facts: SpecFacts,
               parent_model: str | None, parent_busy: bool, root_base: str | None,
               opts: PlanOptions) -> list[Action]:
    inputs = desired_inputs(spec, facts, parent_model, opts)
    fp = fingerprint(inputs) if inputs["base_model"] else None
    ctx = _Context(spec, inputs, fp, observed.view(spec.provider), opts)
    common: dict[str, Any] = dict(spec=spec.name, provider=spec.provider, fingerprint=fp, inputs=inputs,
                                  model_before=entry.model if entry else None)
    launch: dict[str, Any] = dict(common, model_after="(new)", estimate=estimate(spec, facts, root_base, opts),
                                  stats=_stats(entry, inputs))
    if parent_busy:
        return [Action(kind="replace" if entry and entry.model else "create", after=(spec.parent or "",),
                       reasons=(f"parent spec {spec.parent!r} is being trained; this continues from its new model",),
                       **{**launch, "model_after": "(new, after parent)"})]
    actions: list[Action] = []
    pending = entry.pending if entry else None
    if entry and pending:
        state, job = _state(entry, observed)
        job_id = pending.get("job_id")
        if ctx.same(pending.get("fingerprint")):
            if job_id is None:
                return [_adopt_instead(Action(kind="create", reasons=(
                    "an earlier apply stopped before its job was created",), **launch), ctx)]
            if state == states.SUCCEEDED:
                model = job.fine_tuned_model if job else None
                why = f"job {job_id} succeeded; the lockfile does not know yet"
                if spec.deploy is not None and pending.get("deploy"):
                    why = (f"job {job_id} succeeded; its deploy to {describe_deploy(spec.deploy)} is "
                           f"{pending['deploy'].get('status') or pending['deploy'].get('state')}")
                return [_deploying(Action(kind="record", job_id=job_id, model_after=model or "(from job)",
                                          new_model=model, reasons=(why,), **common), spec)]
            if state == states.CANCELLED and spec.name not in opts.retry:
                return []  # a person cancelled it: make_plan says so and asks for --retry (held_reason)
            if state in (states.FAILED, states.CANCELLED, MISSING):
                why = _failure(job_id, state, job, pending, spec.provider)
                if state == states.CANCELLED:
                    why = f"{held_reason(entry, job_id)}; --retry trains it again"
                return [_adopt_instead(Action(kind="retry", job_id=job_id, reasons=(why,), **launch), ctx)]
            return [Action(kind="wait", job_id=job_id, model_after="(when the job succeeds)",
                           reasons=(f"job {job_id} is {job.raw_status if job else pending.get('status')}",),
                           **common)]
        # the spec changed while a job was in flight (or finished unrecorded)
        if state == states.SUCCEEDED and job and job.fine_tuned_model:
            actions.append(Action(kind="record", job_id=job_id, model_after=job.fine_tuned_model,
                                  new_model=job.fine_tuned_model,
                                  reasons=(f"job {job_id} succeeded for the previous inputs",),
                                  **{**common, "fingerprint": pending.get("fingerprint"),
                                     "inputs": pending.get("inputs")}))
            entry = entry.with_(model=job.fine_tuned_model, inputs=pending.get("inputs"),
                                fingerprint=pending.get("fingerprint"), pending=None)
        else:
            changes = input_changes(pending.get("inputs"), inputs)
            reasons = [c.text for c in changes]
            if state in states.IN_FLIGHT and job_id:
                reasons.append(f"supersedes job {job_id} ({state}), which apply cancels")
            return [_adopt_instead(Action(kind="replace" if entry.model else "create", job_id=job_id,
                                          changes=tuple(changes), reasons=tuple(reasons), **launch), ctx)]
    if entry is not None and entry.model and entry.imported and entry.fingerprint is None:
        imported = _imported(entry, ctx, common, launch)
        if imported.kind == "adopt":
            return actions + [imported]
        return actions + [_deploying(_adopt_instead(imported, ctx), spec)]
    held = _held_back(spec, entry, ctx, common)
    if held is not None:
        if not held and entry and entry.model and deploy_outdated(spec.deploy, entry.deploy):
            held = [_redeploy(spec, entry)]  # the pinned model's deploy step still follows the spec
        return actions + held
    if entry is None or entry.model is None:
        action = Action(kind="create", reasons=("new spec" if entry is None else "no model yet",), **launch)
    elif not ctx.same(entry.fingerprint):
        changes = input_changes(entry.inputs, inputs)
        reasons = [c.text for c in changes] or ["inputs changed"]
        if any(c.field == "provider" for c in changes) and spec.provider in opts.providers:
            reasons += mapping_lines(spec.hyperparameters, spec.method_type, opts.providers[spec.provider])
        action = Action(kind="replace", changes=tuple(changes), **launch, reasons=tuple(reasons))
    elif (entry.trained_model or entry.model) in ctx.view.missing_models:
        action = Action(kind="drift", **launch, reasons=(
            f"pinned model {entry.model} no longer exists on {spec.provider}; apply trains it again",))
    elif deploy_outdated(spec.deploy, entry.deploy):
        return actions + [_redeploy(spec, entry)]
    elif pin_outdated(spec.pin, entry):
        return actions + [_repin(spec, entry)]
    else:
        return actions
    return actions + [_deploying(_adopt_instead(action, ctx), spec)]


def _held_back(spec: FineTuneSpec, entry: LockEntry | None, ctx: _Context,
               common: dict[str, Any]) -> list[Action] | None:
    """A candidate an eval gate held back, trained from the inputs the spec has now: nothing to train. Apply pins
    it when ``--accept`` names the spec, and evaluates it again when the eval changed (its config or data) or the
    spec no longer has one; otherwise the plan only says so (a notice, with the numbers). None: no such candidate."""
    candidate = entry.candidate if entry else None
    if not candidate or not ctx.same(candidate.get("fingerprint")):
        return None
    model = candidate.get("model")
    job_id = (candidate.get("job") or {}).get("id")
    record: dict[str, Any] = dict(common, kind="record", job_id=job_id, fingerprint=candidate.get("fingerprint"),
                                  inputs=candidate.get("inputs"))
    evaluated = (candidate.get("eval") or {}).get("key")
    if spec.name in ctx.opts.accept:
        return [Action(model_after=model, new_model=candidate.get("trained_model") or model, reasons=(
            f"--accept: pins the held-back candidate {model} although its eval did not pass the gate",), **record)]
    if spec.eval is None:
        return [Action(model_after=model, new_model=candidate.get("trained_model") or model, reasons=(
            f"the spec has no eval any more: apply pins the held-back candidate {model}",), **record)]
    if ctx.opts.eval_keys.get(spec.name, evaluated) != evaluated:
        return [Action(model_after=f"{model} (if the gate passes)", reasons=(
            f"the eval changed since candidate {model} was held back: apply evaluates it again and pins it if the "
            "gate passes",), **record)]
    return []


def _deploying(action: Action, spec: FineTuneSpec) -> Action:
    """An action that trains (or records) a model of a spec with a deploy step says so: the pin then moves to the
    name applications call, once the deployed model answers."""
    if spec.deploy is None:
        return action
    after = "(when deployed)" if action.kind == "record" or action.new_model else action.model_after
    return replace(action, model_after=after, reasons=action.reasons + (
        f"then deploys the trained model to {describe_deploy(spec.deploy)}; the pin moves once it is callable",))


def pin_outdated(pin: Any, entry: LockEntry) -> bool:
    """Whether the entry pins another model of its job than the spec's ``pin`` asks for (no training)."""
    recorded = (entry.checkpoint or {}).get("pin", "final")
    return bool(entry.model) and bool((entry.job or {}).get("id")) and recorded != (pin or "final")


def _repin(spec: FineTuneSpec, entry: LockEntry) -> Action:
    from ftops.results import pin_label

    before = pin_label((entry.checkpoint or {}).get("pin", "final"))
    job_id = (entry.job or {}).get("id")
    return Action(spec=spec.name, kind="update", provider=spec.provider, model_before=entry.model,
                  model_after="(from the job's checkpoints)" if spec.pin != "final" else
                  ((entry.checkpoint or {}).get("final_model") or "(the job's final model)"), job_id=job_id,
                  reasons=(f"pin: {before} -> {pin_label(spec.pin)}; apply re-pins from job {job_id} (no training)",))


def held_reason(entry: LockEntry, job_id: str | None) -> str:
    """Why a cancelled job is not started again: ftops itself cancels only jobs whose inputs are superseded, so a
    job of the current inputs that is cancelled was stopped by a person (`ftops cancel`, or the provider's
    console)."""
    requested = (entry.pending or {}).get("requested") or {}
    if requested.get("verb") == "cancel":
        return f"job {job_id} was cancelled with `ftops cancel` ({requested.get('at') or 'time unknown'})"
    return f"job {job_id} was cancelled outside apply"


def _imported(entry: LockEntry, ctx: _Context, common: dict[str, Any], launch: dict[str, Any]) -> Action:
    """An entry `ftops import` wrote: adopted as it is when every input was verified to match the spec as it is
    now, else trained (its findings say why)."""
    imported = entry.imported or {}
    job_id = imported.get("job_id")
    if imported.get("matches") and job_id and ctx.same(imported.get("fingerprint")):
        return Action(kind="adopt", job_id=job_id, model_after=entry.model, new_model=entry.model,
                      reasons=(f"imported job {job_id}: every input matches the spec; apply records it as this "
                               "spec's model (no training)",), **common)
    findings = [str(f) for f in imported.get("findings") or ()]
    if imported.get("matches"):
        findings = ["the spec changed since it was imported"]
    return Action(kind="replace", job_id=None, reasons=(
        f"imported model {entry.model} (job {job_id or 'unknown'}) cannot be adopted:", *findings,
        "apply trains the spec; the imported model stays pinned until the new one succeeds"), **launch)


def _redeploy(spec: FineTuneSpec, entry: LockEntry) -> Action:
    """The spec's deploy step differs from the pinned model's: deploy it (no training)."""
    trained = entry.trained_model or entry.model
    recorded = entry.deploy or {}
    before = describe_deploy(recorded.get("target")) if entry.deploy else "(none)"
    if spec.deploy is None:
        why = (f"deploy: {before} -> (none); the pin becomes the trained model {trained} (no training; "
               "ftops does not undeploy anything)")
        after = trained
    elif recorded.get("target") == spec.deploy:
        why = (f"deploy of {trained} to {describe_deploy(spec.deploy)} is {recorded.get('status') or 'unfinished'};"
               " apply pins it once it is callable (no training)")
        after = "(when deployed)"
    else:
        why = f"deploy: {before} -> {describe_deploy(spec.deploy)}; apply deploys {trained} there (no training)"
        after = "(when deployed)"
    return Action(spec=spec.name, kind="update", provider=spec.provider, model_before=entry.model,
                  model_after=after, reasons=(why,))


def _failure(job_id: str, state: str, job, pending: dict, provider: str) -> str:
    if state == MISSING:
        return f"job {job_id} no longer exists on {provider}"
    err = job.error if job else None
    if err:
        return f"job {job_id} {state}: {err.code + ': ' if err.code else ''}{err.message}"
    return f"job {job_id} {state}: {(pending.get('error') or {}).get('message') or 'no error given'}"


def _adopt_instead(action: Action, ctx: _Context) -> Action:
    """A job ftops already started for exactly these inputs (an interrupted apply, another machine's apply, or
    inputs reverted to ones trained before) is adopted instead of paying for the same training again."""
    key = ctx.key(action.fingerprint)
    job = ctx.view.by_key.get(key) if key else None
    if job is None:
        return action
    if job.state == states.SUCCEEDED:
        why = f"job {job.id} already trained these inputs; its model {job.fine_tuned_model} is pinned (no training)"
        after, new = job.fine_tuned_model, job.fine_tuned_model
    else:
        why = (f"job {job.id} for these inputs is already {job.raw_status} (an earlier or concurrent apply started "
               "it); it is adopted, not started again")
        after, new = "(when the job succeeds)", None
    return replace(action, kind="adopt", job_id=job.id, model_after=after, new_model=new, estimate=None,
                   reasons=action.reasons + (why,))


def _integrity(spec_name: str, entry: LockEntry, edited: bool, observed: Observed, opts: PlanOptions,
               former_names: tuple[str, ...] = ()) -> tuple[list[Action], list[Notice]]:
    """Findings about a lockfile entry that does not match what produced it: edited by hand (its seal), or a
    pin the provider's own record of its job contradicts. Reviewers must see a change made only to ftops.lock."""
    job_id = (entry.job or {}).get("id")
    job = observed.job(entry.provider, job_id)
    problems = []
    if job is not None and entry.model:
        produced = job.fine_tuned_model
        if produced and produced not in (entry.model, entry.trained_model, (entry.checkpoint or {}).get("final_model")):
            problems.append(f"ftops.lock pins {entry.trained_model or entry.model}, but its job {job_id} produced "
                            f"{produced}")
        carried = key_chars(opts, entry.provider)
        expected = {LaunchKey(opts.project, name, entry.fingerprint).carried(carried)
                    for name in (spec_name, *former_names)} if entry.fingerprint else set()
        if job.launch_key and expected and job.launch_key not in expected and not entry.imported:
            problems.append(f"ftops.lock names job {job_id}, which was not started for this spec and fingerprint"
                            + (f" (it belongs to spec {job.spec!r})" if job.spec and job.spec != spec_name else ""))
    if problems:
        return ([Action(spec=spec_name, kind="repair", provider=entry.provider, model_before=entry.model,
                        model_after="(from the provider's record)", job_id=job_id,
                        reasons=tuple(problems) + ("apply re-pins this spec from the provider's own record",))],
                [Notice("warning", "; ".join(problems), spec=spec_name)])
    if edited:
        if observed.refreshed and entry.provider in observed.views:
            return ([Action(spec=spec_name, kind="update", provider=entry.provider, model_before=entry.model,
                            model_after=entry.model, reasons=(
                                "ftops.lock's entry was edited by hand (its seal does not match); the provider's "
                                "record agrees with it, so apply only rewrites it",))],
                    [Notice("warning", "ftops.lock's entry was edited by hand (its seal does not match its content)",
                            spec=spec_name)])
        return [], [Notice("error", "ftops.lock's entry was edited by hand (its seal does not match its content); "
                                    "plan with provider access to check it against the provider's record",
                           spec=spec_name)]
    return [], []


def _lifecycle(spec_name: str, model: str | None, label: str, date: str | None, opts: PlanOptions,
               hint: str = "") -> list[Notice]:
    if not model or not date:
        return []
    try:
        when = dt.date.fromisoformat(str(date))
    except ValueError:
        return []
    days = (when - opts.today).days
    if days < 0:
        return [Notice("error", f"{label} {model} shut down on {when} ({-days} days ago); it no longer serves{hint}",
                       spec=spec_name, date=str(when), days_left=days)]
    if days <= opts.warn_days:
        return [Notice("warning", f"{label} {model} shuts down on {when}: {days} days left{hint}", spec=spec_name,
                       date=str(when), days_left=days)]
    return []


def _shutdown_of(model: str | None, provider: str, observed: Observed, opts: PlanOptions) -> str | None:
    """The provider's own word (its models list) first; the built-in table only where it binds the endpoint
    (OpenAI's dates describe OpenAI, not Azure or a gateway that speaks its API)."""
    pconf = opts.providers.get(provider)
    if not model or pconf is None:
        return None
    kind = kind_of(pconf.type)
    view = observed.view(provider)
    listed = view.models.get(model)
    if listed and listed.shutdown_date:
        return listed.shutdown_date
    base = kind.effective(pconf).base_of(model)
    if base in view.models:
        return view.models[base].shutdown_date
    return kind.known_shutdown(model, pconf)


def _migrate_hint(provider: str) -> str:
    return "; move it with `ftops migrate --to PROVIDER`"


def _spec_notices(spec: FineTuneSpec, entry: LockEntry | None, spec_actions: list[Action], observed: Observed,
                  base_model: str | None, opts: PlanOptions) -> list[Notice]:
    """Lifecycle, offer, budget and cut-off notices for one spec."""
    notices: list[Notice] = []
    launch = next((a for a in spec_actions if a.launches), None)
    model = entry.model if entry else None
    model_date = None
    hint = "" if launch else _migrate_hint(spec.provider)
    if entry and model:  # a refreshed provider's word outranks the date the lockfile recorded when it was pinned
        pinned = entry.trained_model or model
        model_date = _shutdown_of(pinned, entry.provider, observed, opts) if entry.provider in observed.views \
            else entry.model_shutdown_date or _shutdown_of(pinned, entry.provider, observed, opts)
    for notice in _lifecycle(spec.name, model, "pinned model", model_date, opts, hint):
        if notice.level == "error" and launch:  # dead, but this apply replaces it: migrating must stay possible
            notice = replace(notice, level="warning", message=f"{notice.message}; this apply replaces it")
        notices.append(notice)
    if base_model and (launch or not model_date):
        for notice in _lifecycle(spec.name, base_model, "base model",
                                 _shutdown_of(base_model, spec.provider, observed, opts), opts):
            if launch and notice.level == "warning":  # what the reviewer is about to pay for
                notice = replace(notice, message=f"{notice.message}; a model trained on it now stops serving "
                                                 "then too")
            notices.append(notice)
    if not launch:
        return notices
    view = observed.view(spec.provider)
    if spec.base_model and view.listed and spec.base_model not in view.listed:  # a provider without a models
        # list (a self-hosted cluster) says nothing about which base models it offers
        notices.append(Notice("error", f"base model {spec.base_model} is not offered by {spec.provider} "
                              "(not in its models list)", spec=spec.name))
    est = launch.estimate
    if spec.budget_usd is not None and est and est.usd is not None and est.usd > spec.budget_usd:
        notices.append(Notice("error", f"estimated cost {cost.format_usd(est.usd)} exceeds budget_usd "
                              f"{cost.format_usd(spec.budget_usd)}", spec=spec.name))
    pconf = opts.providers.get(spec.provider)
    if pconf and spec.deploy is None and kind_of(pconf.type).effective(pconf).capabilities.needs_deploy:
        notices.append(Notice("warning", f"{spec.provider} serves a fine-tuned model only once it is deployed; "
                              "the lockfile will pin the trained model's name (add a deploy block to pin a name "
                              "applications can call)", spec=spec.name))
    rule = kind_of(pconf.type).effective(pconf).capabilities.suffix if pconf else None
    if rule and spec.suffix and rule.sent(spec.suffix) != spec.suffix:
        notices.append(Notice("warning", f"suffix {spec.suffix!r} is sent as {rule.sent(spec.suffix)!r}: "
                              f"{spec.provider} does not take spaces in a suffix", spec=spec.name))
    cutoff = kind_of(pconf.type).training_cutoff(pconf) if pconf else None
    if cutoff:
        days = (cutoff - opts.today).days
        text = (f"{spec.provider} stopped accepting new fine-tuning jobs on {cutoff}" if days < 0 else
                f"{spec.provider} accepts new fine-tuning jobs until {cutoff}: {days} days left to train")
        notices.append(Notice("error" if days < 0 else "warning", text + _migrate_hint(spec.provider),
                              date=str(cutoff), days_left=days))
    return notices


DEPLOYS = LAUNCHES | {"adopt", "record", "update"}  # actions after which apply may deploy the spec's model


def _per_month(hourly: float) -> str:
    return f"{cost.format_usd(hourly)}/hour (about {cost.format_usd(hourly * 730)} a month)"


def _deployments(spec: FineTuneSpec, entry: LockEntry | None, actions: list[Action], base_model: str | None,
                 opts: PlanOptions) -> tuple[list[Action], list[Notice]]:
    """What a spec's deploy step costs and when it stops serving: each action that deploys says its hourly cost
    (a deployed model is billed by the hour while it exists, called or not); a deployment the provider retires
    within ``warn_days`` is a warning (an error once retired). Deployments of models this spec no longer pins
    (``deploy.superseded``) are removed by an apply with --prune, and named with their cost otherwise."""
    pconf = opts.providers.get(spec.provider)
    if pconf is None:
        return actions, []
    kind = kind_of(pconf.type).effective(pconf)
    notices: list[Notice] = []
    base = base_model or ((entry.inputs or {}).get("base_model") if entry else None)
    if spec.deploy is not None:
        hourly = kind.hosting_usd_per_hour(pconf, spec.deploy, base)
        for i, action in enumerate(actions):
            deploys = action.kind in DEPLOYS and (action.kind != "update" or action.model_after == "(when deployed)")
            if deploys and hourly is not None:
                actions[i] = replace(action, hourly_usd=hourly, reasons=action.reasons + (
                    f"hosting: {_per_month(hourly)} while the deployment exists, called or not",))
        retires = kind.deploy_retires(pconf, base)
        if retires is not None and (actions or (entry and entry.deploy)):
            days = (retires - opts.today).days
            where = f"{spec.provider} stops serving deployed fine-tunes of {kind.base_of(base or '')}"
            if days < 0:
                notices.append(Notice("error", f"{where} since {retires} ({-days} days ago); its deployment no longer "
                                      "serves" + _migrate_hint(spec.provider), spec=spec.name, date=str(retires),
                                      days_left=days))
            elif days <= opts.warn_days:
                notices.append(Notice("warning", f"{where} on {retires} ({days} days left): the deployment stops "
                                      "serving then" + _migrate_hint(spec.provider), spec=spec.name,
                                      date=str(retires), days_left=days))
    superseded = tuple((entry.deploy or {}).get("superseded") or ()) if entry else ()
    if superseded:
        names = ", ".join(str(d.get("model")) for d in superseded)
        hourly = sum(kind.hosting_usd_per_hour(pconf, d.get("target") or {}, base) or 0.0 for d in superseded)
        billed = f" (billed {_per_month(hourly)} in all)" if hourly else ""
        if opts.prune:
            why = f"--prune removes the deployment(s) of models this spec no longer pins: {names}{billed}"
            update = next((i for i, a in enumerate(actions) if a.kind == "update"), None)
            if update is not None:
                actions[update] = replace(actions[update], undeploy=superseded,
                                          reasons=actions[update].reasons + (why,))
            else:
                assert entry is not None
                actions.append(Action(spec=spec.name, kind="update", provider=spec.provider, model_before=entry.model,
                                      model_after=entry.model, undeploy=superseded, reasons=(why,)))
        else:
            notices.append(Notice("warning", f"deployment(s) of models this spec no longer pins still exist: {names}"
                                  f"{billed}; `ftops apply --prune` removes them", spec=spec.name))
    if opts.prune and any(a.launches or a.kind in ("adopt", "record") for a in actions) and entry and entry.deploy \
            and "undeploy" in kind.capabilities.verbs:
        i = next(i for i, a in enumerate(actions) if a.launches or a.kind in ("adopt", "record"))
        actions[i] = replace(actions[i], undeploy=(entry.deploy,), reasons=actions[i].reasons + (
            f"--prune: once the new model serves and is pinned, its old deployment {entry.deploy.get('model')} is "
            "removed",))
    return actions, notices


def _moves(specs: list[FineTuneSpec], lock: Lockfile) -> tuple[Lockfile, list[Action]]:
    """Entries of renamed specs (``moved_from``) move to the new name: no training, the pinned model stays."""
    names = {s.name for s in specs}
    actions = []
    for spec in specs:
        if spec.name in lock.entries:
            continue
        old = next((m for m in spec.moved_from if m in lock.entries and m not in names), None)
        if old is None:
            continue
        entry = lock.entries[old]
        lock = lock.without(old).with_entry(entry.with_(name=spec.name))
        actions.append(Action(spec=spec.name, kind="move", provider=entry.provider, model_before=entry.model,
                              model_after=entry.model, moved_from=old,
                              reasons=(f"renamed from {old!r} (moved_from); its lockfile entry and pinned model "
                                       "move with it, no training",)))
    return lock, actions


def make_plan(specs: list[FineTuneSpec], lock: Lockfile, observed: Observed, facts: dict[str, SpecFacts],
              opts: PlanOptions) -> Plan:
    """``facts`` maps each spec name to the facts of its dataset files."""
    lock, actions = _moves(specs, lock)
    moved = {a.spec for a in actions}
    notices: list[Notice] = [Notice("warning", f"{name} was not contacted: {why}") for name, why in
                             sorted(observed.skipped.items())]
    unchanged: list[str] = []
    busy: set[str] = set()  # specs whose model will change in this apply, to a model not known yet
    recorded: dict[str, str] = {}  # specs whose finished job this apply records: spec -> its new model
    names = {s.name for s in specs}
    root_base = root_base_models(specs)  # spec -> the base model at the top of its chain (prices, limits)
    for spec in specs:  # dependency order: parents first
        entry = lock.get(spec.name)
        found: list[Action] = []
        if entry is not None:
            found, integrity = _integrity(spec.name, entry, spec.name in lock.edited and spec.name not in moved,
                                          observed, opts, spec.moved_from)
            notices += integrity
            if any(a.kind == "repair" for a in found):
                entry = entry.with_(model=None, fingerprint=None, job=None)  # its pin cannot be trusted
        parent_entry = lock.get(spec.parent) if spec.parent else None
        parent_model = recorded.get(spec.parent or "") or (  # a child trains from the trained model, which
            (parent_entry.trained_model or parent_entry.model) if parent_entry else None)  # may not be the called name
        parent_busy = bool(spec.parent) and (spec.parent in busy or parent_model is None)
        spec_actions = _plan_spec(spec, entry, observed, facts[spec.name], parent_model, parent_busy,
                                  root_base[spec.name], opts)
        if any(a.kind == "repair" for a in found):
            spec_actions = found + [replace(a, model_before=found[0].model_before) for a in spec_actions]
        elif found and not spec_actions:
            spec_actions = found
        if entry and entry.protect != spec.protect:
            why = f"protect: {str(entry.protect).lower()} -> {str(spec.protect).lower()}"
            if spec_actions:
                spec_actions[-1] = replace(spec_actions[-1], reasons=spec_actions[-1].reasons + (why,))
            else:
                spec_actions = [Action(spec=spec.name, kind="update", provider=spec.provider,
                                       model_before=entry.model, model_after=entry.model,
                                       reasons=(f"{why} (lockfile only; no training)",))]
        held = _held(spec, entry, spec_actions, observed, opts)
        if held:
            notices.append(Notice("warning", held, spec=spec.name))
        elif not spec_actions and spec.name not in moved:
            unchanged.append(spec.name)
        spec_actions += _prune_superseded(spec, entry, opts)
        for a in spec_actions:
            if a.kind in ("record", "adopt") and a.new_model:
                recorded[spec.name] = a.new_model
            elif a.kind in LAUNCHES or a.kind in ("wait", "adopt", "record", "repair"):
                busy.add(spec.name)
        spec_actions, deploy_notices = _deployments(spec, entry, spec_actions, root_base[spec.name], opts)
        actions.extend(spec_actions)
        notices += _spec_notices(spec, entry, spec_actions, observed, root_base[spec.name], opts) + deploy_notices
    for name in sorted(set(lock.entries) - names):
        entry = lock.entries[name]
        protected = entry.protect
        running = _running_job(entry, observed)
        cancel = (f"its job {running} is still in flight; apply cancels it (it would keep running and billing)",) \
            if running else ()
        pconf = opts.providers.get(entry.provider)
        removable = pconf is not None and "undeploy" in kind_of(pconf.type).effective(pconf).capabilities.verbs
        deployed = [d for d in [entry.deploy or {}, *((entry.deploy or {}).get("superseded") or ())]
                    if d.get("model")] if removable else []
        if opts.prune and entry.model and not protected and entry.provider in opts.providers:
            older = tuple(s["model"] for s in entry.superseded or () if not s.get("protect"))
            also = f" and {len(older)} model(s) it superseded" if older else ""
            first = f" after removing its deployment(s) {', '.join(d['model'] for d in deployed)}" if deployed else ""
            actions.append(Action(spec=name, kind="delete", provider=entry.provider, model_before=entry.model,
                                  job_id=running, models=older,
                                  reasons=(f"spec removed; --prune deletes its model{also} from the provider{first}",
                                           *cancel)))
        else:
            why = "spec removed; the model stays on the provider" + (" (protected)" if protected else "")
            if not entry.model:
                why = "spec removed before a model was pinned"
            if opts.prune and entry.provider not in opts.providers:
                why += f" (its provider {entry.provider!r} is no longer in ftops.yaml, so it cannot be deleted)"
            if deployed:
                why += f"; its deployment(s) {', '.join(d['model'] for d in deployed)} keep serving (and billing)"
            actions.append(Action(spec=name, kind="forget", provider=entry.provider, model_before=entry.model,
                                  job_id=running, reasons=(why, *cancel)))
    hidden: list[str] = []
    if opts.targets:
        wanted = set(opts.targets)
        parents = {s.name: s.parent for s in specs}
        for name in opts.targets:  # a targeted child needs its parent's new model first
            parent = parents.get(name)
            while parent and parent not in wanted:
                if any(a.spec == parent for a in actions):
                    notices.append(Notice("warning", f"--target {name} includes its parent {parent!r}, which "
                                          "must be trained first", spec=name))
                wanted.add(parent)
                parent = parents.get(parent)
        hidden = sorted({a.spec for a in actions} - wanted)
        actions = [a for a in actions if a.spec in wanted]
        notices = [n for n in notices if n.spec is None or n.spec in wanted]
    costs = [a.estimate.usd for a in actions if a.launches and a.estimate and a.estimate.usd is not None]
    total = round(sum(costs), 4) if costs else None
    for a in actions:
        if a.launches and a.estimate and a.estimate.usd is None and not a.estimate.note:
            notices.append(Notice("warning", "no price known for this base model; the total leaves it out "
                                  "(set prices: in ftops.yaml)", spec=a.spec))
    if opts.budget_usd is not None and total is not None and total > opts.budget_usd:
        notices.append(Notice("error", f"estimated total {cost.format_usd(total)} exceeds the project budget_usd "
                              f"{cost.format_usd(opts.budget_usd)}"))
    return Plan(actions=tuple(actions), notices=tuple(_dedupe(notices)), refreshed=observed.refreshed,
                total_usd=total, unchanged=tuple(unchanged), hidden=tuple(hidden),
                skipped=tuple(sorted(observed.skipped)))


def _held(spec: FineTuneSpec, entry: LockEntry | None, spec_actions: list[Action], observed: Observed,
          opts: PlanOptions) -> str | None:
    """Why this spec's job, which a person cancelled, is not started again (None when it is not so held).
    ``_plan_spec`` plans nothing for a cancelled job of the current inputs; inputs that changed since train."""
    pending = (entry.pending if entry else None) or {}
    if entry is None or spec_actions or not pending.get("job_id") or spec.name in opts.retry:
        return None
    state, _ = _state(entry, observed)
    if state != states.CANCELLED:
        return None
    return (f"{held_reason(entry, pending['job_id'])}; apply does not start it again. To train it: "
            f"`ftops apply --retry {spec.name}`")


def _running_job(entry: LockEntry, observed: Observed) -> str | None:
    """The entry's pending job when it is (or may be) still in flight."""
    job_id = (entry.pending or {}).get("job_id")
    if not job_id:
        return None
    state, _ = _state(entry, observed)
    return job_id if state in states.IN_FLIGHT else None


def _prune_superseded(spec: FineTuneSpec, entry: LockEntry | None, opts: PlanOptions) -> list[Action]:
    """With --prune: delete the models this spec's replaces superseded, except the newest ``keep`` ones; none of a
    protected spec's, none recorded while it was protected."""
    if not opts.prune or entry is None or spec.protect or not entry.superseded:
        return []
    older = [s for s in entry.superseded if not s.get("protect")]
    kept = older[len(older) - spec.keep:] if spec.keep else []
    doomed = tuple(s["model"] for s in older if s not in kept)
    if not doomed:
        return []
    why = [f"--prune deletes {len(doomed)} model(s) superseded by the pinned {entry.model}: {', '.join(doomed)}"]
    if spec.keep:
        why.append(f"keep: {spec.keep} keeps {', '.join(s['model'] for s in kept)}")
    return [Action(spec=spec.name, kind="delete", provider=entry.provider, model_before=entry.model,
                   model_after=entry.model, models=doomed, reasons=tuple(why))]


def _dedupe(notices: list[Notice]) -> list[Notice]:
    seen, out = set(), []
    for n in notices:
        if (n.level, n.message, n.spec) not in seen:
            seen.add((n.level, n.message, n.spec))
            out.append(n)
    return sorted(out, key=lambda n: (n.level != "error", n.days_left if n.days_left is not None else 10**6))
