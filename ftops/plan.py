"""The plan: a pure function of (specs, lock entries, observed state, dataset facts) -> ordered actions, each
with its reasons. No I/O happens here; everything the plan needs is passed in.

Action kinds: create, adopt, replace, drift, retry, wait, record, update, forget, delete.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from typing import Any

from ftops import catalog, cost
from ftops.diff import Change, input_changes
from ftops.fingerprint import file_record, fingerprint, make_inputs
from ftops.lockfile import LockEntry, Lockfile
from ftops.providers import base as states
from ftops.providers.base import Capabilities
from ftops.refresh import Observed
from ftops.spec import FineTuneSpec, root_base_models

LAUNCHES = frozenset({"create", "replace", "drift", "retry"})  # actions that start (and pay for) training
KINDS = ("create", "adopt", "replace", "drift", "retry", "wait", "record", "update", "forget", "delete")


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
    model_after: str | None = None
    after: tuple[str, ...] = ()  # specs that must finish first
    estimate: Estimate | None = None
    stats: dict[str, Any] = field(default_factory=dict)  # dataset before/after figures for reviewers

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

    @property
    def has_changes(self) -> bool:
        return bool(self.actions)

    @property
    def errors(self) -> list[Notice]:
        return [n for n in self.notices if n.level == "error"]


@dataclass(frozen=True)
class PlanOptions:
    today: dt.date
    prune: bool = False
    targets: frozenset[str] = frozenset()
    warn_days: int = 180
    prices: dict[str, float] = field(default_factory=dict)
    budget_usd: float | None = None
    provider_types: dict[str, str] = field(default_factory=dict)  # provider name -> type
    capabilities: dict[str, Capabilities] = field(default_factory=dict)  # provider name -> what it accepts


SpecFacts = dict[str, DatasetFacts]  # role ("training_file" | "validation_file") -> facts, for one spec


def desired_inputs(spec: FineTuneSpec, facts: SpecFacts, parent_model: str | None) -> dict[str, Any]:
    def record(role):
        f = facts.get(role)
        return file_record(f.rel, f.sha256, f.bytes, f.examples, f.billing_tokens) if f else None

    return make_inputs(provider=spec.provider, base_model=spec.base_model or parent_model, parent=spec.parent,
                       method=spec.method, seed=spec.seed, suffix=spec.suffix,
                       training_file=record("training_file"), validation_file=record("validation_file"))


def estimate(spec: FineTuneSpec, facts: SpecFacts, model: str | None, prices: dict[str, float]) -> Estimate:
    train = facts["training_file"]
    epochs = cost.resolve_epochs(train.examples, spec.n_epochs)
    usd = cost.estimate_cost(train.billing_tokens, epochs, model, prices) if model else None
    return Estimate(train.examples, train.billing_tokens, epochs, train.billing_tokens * epochs, usd)


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


def _plan_spec(spec: FineTuneSpec, entry: LockEntry | None, observed: Observed, facts: SpecFacts,
               parent_model: str | None, parent_busy: bool, root_base: str | None,
               opts: PlanOptions) -> list[Action]:
    inputs = desired_inputs(spec, facts, parent_model)
    fp = fingerprint(inputs) if inputs["base_model"] else None
    common = dict(spec=spec.name, provider=spec.provider, fingerprint=fp, inputs=inputs,
                  model_before=entry.model if entry else None)
    launch = dict(common, model_after="(new)", estimate=estimate(spec, facts, root_base, opts.prices),
                  stats=_stats(entry, inputs))
    if parent_busy:
        return [Action(kind="replace" if entry and entry.model else "create", after=(spec.parent,),
                       reasons=(f"parent spec {spec.parent!r} is being trained; this continues from its new model",),
                       **{**launch, "model_after": "(new, after parent)"})]
    view = observed.view(spec.provider)
    actions: list[Action] = []
    pending = entry.pending if entry else None
    if pending:
        state, job = _state(entry, observed)
        job_id = pending.get("job_id")
        if pending.get("fingerprint") == fp:
            if job_id is None:
                return [_adopt_instead(Action(kind="create", reasons=(
                    "an earlier apply stopped before its job was created",), **launch), view)]
            if state == states.SUCCEEDED:
                return [Action(kind="record", job_id=job_id, model_after=(job.fine_tuned_model if job else None)
                               or "(from job)", reasons=(f"job {job_id} succeeded; the lockfile does not know yet",),
                               **common)]
            if state in (states.FAILED, states.CANCELLED, MISSING):
                return [_adopt_instead(Action(kind="retry", job_id=job_id, reasons=(
                    _failure(job_id, state, job, pending, spec.provider),), **launch), view)]
            return [Action(kind="wait", job_id=job_id, model_after="(when the job succeeds)",
                           reasons=(f"job {job_id} is {job.raw_status if job else pending.get('status')}",),
                           **common)]
        # the spec changed while a job was in flight (or finished unrecorded)
        if state == states.SUCCEEDED and job and job.fine_tuned_model:
            actions.append(Action(kind="record", job_id=job_id, model_after=job.fine_tuned_model,
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
                                          changes=tuple(changes), reasons=tuple(reasons), **launch), view)]
    if entry is None or entry.model is None:
        action = Action(kind="create", reasons=("new spec" if entry is None else "no model yet",), **launch)
    elif entry.fingerprint != fp:
        changes = input_changes(entry.inputs, inputs)
        action = Action(kind="replace", changes=tuple(changes), **launch,
                        reasons=tuple(c.text for c in changes) or ("inputs changed",))
    elif entry.model in view.missing_models:
        action = Action(kind="drift", **launch, reasons=(
            f"pinned model {entry.model} no longer exists on {spec.provider}; apply trains it again",))
    else:
        return actions
    return actions + [_adopt_instead(action, view)]


def _failure(job_id: str, state: str, job, pending: dict, provider: str) -> str:
    if state == MISSING:
        return f"job {job_id} no longer exists on {provider}"
    err = job.error if job else None
    if err:
        return f"job {job_id} {state}: {err.code + ': ' if err.code else ''}{err.message}"
    return f"job {job_id} {state}: {(pending.get('error') or {}).get('message') or 'no error given'}"


def _adopt_instead(action: Action, view) -> Action:
    """A job ftops already started for exactly these inputs (an interrupted apply, or inputs reverted to ones
    trained before) is adopted instead of paying for the same training again."""
    job = view.by_fingerprint.get((action.spec, action.fingerprint)) if action.fingerprint else None
    if job is None:
        return action
    if job.state == states.SUCCEEDED:
        why = f"job {job.id} already trained these inputs; its model {job.fine_tuned_model} is pinned (no training)"
        after = job.fine_tuned_model
    else:
        why = (f"job {job.id} for these inputs is already {job.raw_status} (an interrupted apply started it); "
               "it is adopted, not started again")
        after = "(when the job succeeds)"
    return replace(action, kind="adopt", job_id=job.id, model_after=after, estimate=None,
                   reasons=action.reasons + (why,))


def _lifecycle(spec_name: str, model: str | None, label: str, date: str | None, opts: PlanOptions) -> list[Notice]:
    if not model or not date:
        return []
    try:
        when = dt.date.fromisoformat(str(date))
    except ValueError:
        return []
    days = (when - opts.today).days
    if days < 0:
        return [Notice("error", f"{label} {model} shut down on {when} ({-days} days ago); it no longer serves",
                       spec=spec_name, date=str(when), days_left=days)]
    if days <= opts.warn_days:
        return [Notice("warning", f"{label} {model} shuts down on {when}: {days} days left", spec=spec_name,
                       date=str(when), days_left=days)]
    return []


def _capability_problems(spec: FineTuneSpec, caps: Capabilities | None) -> list[Notice]:
    if caps is None:
        return []
    problems = []
    if spec.suffix and len(spec.suffix) > caps.max_suffix_length:
        problems.append(f"suffix is {len(spec.suffix)} characters; {spec.provider} allows at most "
                        f"{caps.max_suffix_length}")
    if spec.suffix and caps.suffix_charset and not re.fullmatch(f"[{caps.suffix_charset}]+", spec.suffix):
        problems.append(f"suffix {spec.suffix!r} may only use [{caps.suffix_charset}] on {spec.provider}")
    if spec.method_type not in caps.methods:
        problems.append(f"{spec.provider} does not offer the {spec.method_type} method")
    return [Notice("error", p, spec=spec.name) for p in problems]


def _shutdown_of(model: str | None, provider: str, observed: Observed, opts: PlanOptions) -> str | None:
    """The provider's own word (its models list) first; the built-in table only for OpenAI-type providers,
    whose dates it records (Azure, for one, retires the same models later)."""
    if not model:
        return None
    view = observed.view(provider)
    listed = view.models.get(model)
    if listed and listed.shutdown_date:
        return listed.shutdown_date
    base = catalog.base_of(model)
    if base in view.models:
        return view.models[base].shutdown_date
    return catalog.known_shutdown(model, opts.provider_types.get(provider, "openai"))


def _spec_notices(spec: FineTuneSpec, entry: LockEntry | None, spec_actions: list[Action], observed: Observed,
                  base_model: str | None, opts: PlanOptions) -> list[Notice]:
    """Lifecycle, capability, offer, budget and cut-off notices for one spec."""
    notices: list[Notice] = []
    launch = next((a for a in spec_actions if a.launches), None)
    model = entry.model if entry else None
    model_date = None
    if model:  # a refreshed provider's word outranks the date the lockfile recorded when the model was pinned
        model_date = _shutdown_of(model, entry.provider, observed, opts) if entry.provider in observed.views \
            else entry.model_shutdown_date or _shutdown_of(model, entry.provider, observed, opts)
    for notice in _lifecycle(spec.name, model, "pinned model", model_date, opts):
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
    notices += _capability_problems(spec, opts.capabilities.get(spec.provider))
    view = observed.view(spec.provider)
    if spec.base_model and view.models and spec.base_model not in view.models:
        notices.append(Notice("error", f"base model {spec.base_model} is not offered by {spec.provider} "
                              "(not in its models list)", spec=spec.name))
    est = launch.estimate
    if spec.budget_usd is not None and est and est.usd is not None and est.usd > spec.budget_usd:
        notices.append(Notice("error", f"estimated cost {cost.format_usd(est.usd)} exceeds budget_usd "
                              f"{cost.format_usd(spec.budget_usd)}", spec=spec.name))
    cutoff = catalog.load_catalog().training_cutoffs.get(opts.provider_types.get(spec.provider, ""))
    if cutoff:
        days = (cutoff - opts.today).days
        text = (f"{spec.provider} stopped accepting new fine-tuning jobs on {cutoff}" if days < 0 else
                f"{spec.provider} accepts new fine-tuning jobs until {cutoff}: {days} days left to train")
        notices.append(Notice("error" if days < 0 else "warning", text, date=str(cutoff), days_left=days))
    return notices


def make_plan(specs: list[FineTuneSpec], lock: Lockfile, observed: Observed, facts: dict[str, SpecFacts],
              opts: PlanOptions) -> Plan:
    """``facts`` maps each spec name to the facts of its dataset files."""
    actions: list[Action] = []
    notices: list[Notice] = []
    unchanged: list[str] = []
    busy: set[str] = set()  # specs whose model will change in this apply, to a model not known yet
    recorded: dict[str, str] = {}  # specs whose finished job this apply records: spec -> its new model
    names = {s.name for s in specs}
    root_base = root_base_models(specs)  # spec -> the base model at the top of its chain (prices, limits)
    for spec in specs:  # dependency order: parents first
        entry = lock.get(spec.name)
        parent_entry = lock.get(spec.parent) if spec.parent else None
        parent_model = recorded.get(spec.parent) or (parent_entry.model if parent_entry else None)
        parent_busy = bool(spec.parent) and (spec.parent in busy or parent_model is None)
        spec_actions = _plan_spec(spec, entry, observed, facts[spec.name], parent_model, parent_busy,
                                  root_base[spec.name], opts)
        if entry and entry.protect != spec.protect:
            why = f"protect: {str(entry.protect).lower()} -> {str(spec.protect).lower()}"
            if spec_actions:
                spec_actions[-1] = replace(spec_actions[-1], reasons=spec_actions[-1].reasons + (why,))
            else:
                spec_actions = [Action(spec=spec.name, kind="update", provider=spec.provider,
                                       model_before=entry.model, model_after=entry.model,
                                       reasons=(f"{why} (lockfile only; no training)",))]
        if not spec_actions:
            unchanged.append(spec.name)
        for a in spec_actions:
            if a.kind == "record" and a.model_after and a.model_after.startswith("ft:"):
                recorded[spec.name] = a.model_after
            elif a.kind in LAUNCHES or a.kind in ("wait", "adopt", "record"):
                busy.add(spec.name)
        actions.extend(spec_actions)
        notices += _spec_notices(spec, entry, spec_actions, observed, root_base[spec.name], opts)
    for name in sorted(set(lock.entries) - names):
        entry = lock.entries[name]
        protected = entry.protect
        if opts.prune and entry.model and not protected and entry.provider in opts.provider_types:
            actions.append(Action(spec=name, kind="delete", provider=entry.provider, model_before=entry.model,
                                  reasons=("spec removed; --prune deletes its model from the provider",)))
        else:
            why = "spec removed; the model stays on the provider" + (" (protected)" if protected else "")
            if opts.prune and entry.provider not in opts.provider_types:
                why += f" (its provider {entry.provider!r} is no longer in ftops.yaml, so it cannot be deleted)"
            actions.append(Action(spec=name, kind="forget", provider=entry.provider, model_before=entry.model,
                                  reasons=(why,)))
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
        actions = [a for a in actions if a.spec in wanted]
        notices = [n for n in notices if n.spec is None or n.spec in wanted]
    costs = [a.estimate.usd for a in actions if a.launches and a.estimate and a.estimate.usd is not None]
    total = round(sum(costs), 4) if costs else None
    for a in actions:
        if a.launches and a.estimate and a.estimate.usd is None:
            notices.append(Notice("warning", "no price known for this base model; the total leaves it out "
                                  "(set prices: in ftops.yaml)", spec=a.spec))
    if opts.budget_usd is not None and total is not None and total > opts.budget_usd:
        notices.append(Notice("error", f"estimated total {cost.format_usd(total)} exceeds the project budget_usd "
                              f"{cost.format_usd(opts.budget_usd)}"))
    return Plan(actions=tuple(actions), notices=tuple(_dedupe(notices)), refreshed=observed.refreshed,
                total_usd=total, unchanged=tuple(unchanged))


def _dedupe(notices: list[Notice]) -> list[Notice]:
    seen, out = set(), []
    for n in notices:
        if (n.level, n.message, n.spec) not in seen:
            seen.add((n.level, n.message, n.spec))
            out.append(n)
    return sorted(out, key=lambda n: (n.level != "error", n.days_left if n.days_left is not None else 10**6))
