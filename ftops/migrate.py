"""Moving specs to another provider: which specs must move (their provider stops training, or their pinned or
base model shuts down), and the edits that move each one (provider, base model, every hyperparameter mapped to
what the new provider accepts, the suffix made to fit), with notes a reviewer can read. Pure: the CLI prints
these edits or writes them (ftops.specedit keeps comments and layout).

A hyperparameter the new provider does not take is removed, never converted behind the user's back: a learning
rate multiplier is not an absolute learning rate.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from ftops.config import ProjectConfig
from ftops.errors import PlanError
from ftops.lockfile import Lockfile
from ftops.providers.registry import kind as kind_of
from ftops.spec import FineTuneSpec


@dataclass(frozen=True)
class SpecMove:
    spec: str
    source: str  # "specs/support.yaml:3"
    why: str
    set: dict[tuple, Any] = field(default_factory=dict)  # key path -> new value
    remove: tuple[tuple, ...] = ()  # key paths to delete
    notes: tuple[str, ...] = ()

    @property
    def file(self) -> str:
        return self.source.rsplit(":", 1)[0]


def _closing(spec: FineTuneSpec, config: ProjectConfig, lock: Lockfile, today: dt.date) -> str | None:
    """Why this spec must move, or None: its provider stops training, or its pinned or base model shuts down
    within the project's warning window."""
    pconf = config.providers[spec.provider]
    kind = kind_of(pconf.type)
    cutoff = kind.training_cutoff(pconf)
    if cutoff:
        return f"{spec.provider} accepts new fine-tuning jobs until {cutoff}"
    entry = lock.get(spec.name)
    horizon = today + dt.timedelta(days=config.warn_days)
    dates = [("pinned model", entry.model if entry else None, entry.model_shutdown_date if entry else None),
             ("base model", spec.base_model, kind.known_shutdown(spec.base_model, pconf))]
    for label, model, date in dates:
        if model and date and dt.date.fromisoformat(str(date)) <= horizon:
            return f"its {label} {model} shuts down on {date}"
    return None


def plan_moves(specs: list[FineTuneSpec], config: ProjectConfig, lock: Lockfile, *, to: str,
               base_models: dict[str, str], source: str | None = None, only: frozenset[str] = frozenset(),
               today: dt.date) -> list[SpecMove]:
    """The moves to provider ``to``: of the specs on ``source`` (when given) or of every spec whose provider or
    model is closing; a spec's children move with it (a model is continued where it lives)."""
    if to not in config.providers:
        raise PlanError(f"--to {to!r} is not a provider in ftops.yaml ({', '.join(sorted(config.providers))})",
                        hint=f"add it under providers: in ftops.yaml first, e.g. {to}: {{type: together}}")
    if source is not None and source not in config.providers:
        raise PlanError(f"--from {source!r} is not a provider in ftops.yaml")
    reasons: dict[str, str] = {}
    for spec in specs:  # dependency order: parents first
        if spec.provider == to:
            continue
        if spec.parent and spec.parent in reasons:  # even when --spec did not name it: it must follow
            reasons[spec.name] = f"it continues from {spec.parent!r}, which moves"
            continue
        if only and spec.name not in only:
            continue
        why = f"--from {source}" if source is not None and spec.provider == source else \
            None if source is not None else _closing(spec, config, lock, today)
        if why:
            reasons[spec.name] = why
    pconf = config.providers[to]
    target = kind_of(pconf.type).effective(pconf)
    moves, unmapped = [], []
    for spec in specs:
        if spec.name not in reasons:
            continue
        move = _move(spec, reasons[spec.name], to, target, base_models)
        if move is None:
            unmapped.append(spec)
            continue
        moves.append(move)
    if unmapped:
        names = ", ".join(f"{s.name} ({s.base_model})" for s in unmapped)
        raise PlanError(f"{len(unmapped)} spec(s) need a base model on {to}: {names}",
                        hint="say which with --base-model OLD=NEW (repeatable); `ftops migrate --help` shows how")
    return moves


def _move(spec: FineTuneSpec, why: str, to: str, target, base_models: dict[str, str]) -> SpecMove | None:
    sets: dict[tuple, Any] = {("provider",): to}
    removes: list[tuple] = []
    notes: list[str] = []
    if spec.base_model:
        new = base_models.get(spec.base_model) or (spec.base_model if target.lookup(spec.base_model).known
                                                   else target.catalog().replaces.get(spec.base_model))
        if new is None:
            return None
        if new != spec.base_model:
            sets[("base_model",)] = new
            chosen = "--base-model" if spec.base_model in base_models else \
                f"suggested; choose another with --base-model {spec.base_model}=MODEL"
            notes.append(f"base_model: {spec.base_model} -> {new} ({chosen})")
    caps = target.capabilities
    method = spec.method_type
    if method not in caps.methods:
        raise PlanError(f"{spec.name}: {to} does not offer the {method} method (it offers "
                        f"{', '.join(caps.methods)}); this spec cannot move there")
    for name, value in sorted((spec.method_as_written or {}).get("hyperparameters", {}).items()):
        path = ("method", "hyperparameters", name)
        if value == "auto":
            continue
        rule = caps.accepts(method, name)
        if rule is None:
            removes.append(path)
            notes.append(f"method.hyperparameters.{name}: {value} removed: {to} does not take it"
                         + _instead(name, caps, method))
        elif rule.problem(value):
            removes.append(path)
            notes.append(f"method.hyperparameters.{name}: {value} removed: {rule.problem(value)} on {to} "
                         "(its default applies)")
        else:
            notes.append(f"method.hyperparameters.{name}: {value} (sent as {rule.wire or name})")
    training_type = spec.method.get("training_type")
    if training_type and training_type not in caps.training_types:
        removes.append(("method", "training_type"))
        notes.append(f"method.training_type: {training_type} removed: {to} decides it")
    if spec.seed is not None and not caps.seed:
        removes.append(("seed",))
        notes.append(f"seed: {spec.seed} removed: {to} does not take a seed")
    if spec.suffix:
        fitted = fit_suffix(spec.suffix, caps.suffix.max_length, caps.suffix.charset)
        if fitted != spec.suffix:
            sets[("suffix",)] = fitted
            notes.append(f"suffix: {spec.suffix!r} -> {fitted!r} ({to} allows at most {caps.suffix.max_length} "
                         f"characters{f' of [{caps.suffix.charset}]' if caps.suffix.charset else ''})")
    return SpecMove(spec=spec.name, source=spec.source, why=why, set=sets, remove=tuple(removes), notes=tuple(notes))


def _instead(name: str, caps, method: str) -> str:
    from ftops.providers.fit import INSTEAD

    instead = INSTEAD.get(name)
    if instead and caps.accepts(method, instead.split()[0]):
        return f" (it takes {instead}; its default applies until you set it)"
    return " (its default applies)"


def fit_suffix(suffix: str, max_length: int, charset: str | None) -> str:
    fitted = "-".join(suffix.split())
    if charset:
        fitted = re.sub(f"[^{charset}]+", "-", fitted).strip("-") or "ft"
    return fitted[:max_length].rstrip("-") or fitted[:max_length]
