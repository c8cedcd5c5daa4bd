"""The I/O half of the pipeline: load config, specs, lockfile and dataset facts; open providers; refresh; plan.

    ftops.yaml + specs --spec--> FineTuneSpec     datasets --dataset--> facts     provider --refresh--> Observed
    (specs, lock, observed, facts) --plan (pure)--> Plan
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftops import cost
from ftops.config import ProjectConfig, load_config, require_project
from ftops.dataset import FileReport, check_file, check_overlap
from ftops.errors import ConfigError
from ftops.lockfile import Lockfile, read_lockfile
from ftops.plan import DatasetFacts, Plan, PlanOptions, SpecFacts, make_plan
from ftops.providers import UntrustedProvider, open_provider
from ftops.providers.base import Provider
from ftops.providers.registry import kind as kind_of
from ftops.refresh import NOT_REFRESHED, Observed, refresh
from ftops.spec import FineTuneSpec, load_specs, root_base_models
from ftops.trust import Trust


@dataclass
class Workspace:
    config: ProjectConfig
    specs: list[FineTuneSpec]
    lock: Lockfile
    reports: dict[str, dict[str, FileReport]] = field(default_factory=dict)  # spec -> role -> report
    overlap: dict[str, list] = field(default_factory=dict)  # spec -> findings shared between its files

    @property
    def project(self) -> str:
        """The identity jobs are tagged with: ftops.yaml's ``project``, else the one the lockfile recorded (so
        every clone keeps finding the same jobs), else the one derived from the repository."""
        if self.config.project_source == "ftops.yaml":
            return self.config.project
        return self.lock.project or self.config.project

    @property
    def facts(self) -> dict[str, SpecFacts]:
        return {name: {role: _facts(r) for role, r in roles.items()} for name, roles in self.reports.items()}

    def spec(self, name: str) -> FineTuneSpec | None:
        return next((s for s in self.specs if s.name == name), None)


def _facts(report: FileReport) -> DatasetFacts:
    return DatasetFacts(rel=str(report.path), sha256=report.sha256, bytes=report.bytes, examples=report.examples,
                        billing_tokens=report.tokens.billing, errors=len(report.errors),
                        error_lines=tuple(f"line {f.line}: {f.message}" for f in report.errors[:3]))


def load_workspace(root: Path, *, check_data: bool = True) -> Workspace:
    config = require_project(load_config(root))
    specs = load_specs(config)
    lock = read_lockfile(config.lockfile, config.rel(config.lockfile), config.cache_dir)
    ws = Workspace(config=config, specs=specs, lock=lock)
    if check_data:
        check_datasets(ws)
    return ws


def check_datasets(ws: Workspace) -> None:
    """Check every spec's files (results are cached by content under .ftops/, so this is cheap when unchanged)."""
    cache = ws.config.cache_dir
    roots = root_base_models(ws.specs)
    for spec in ws.specs:
        pconf = ws.config.providers[spec.provider]
        kind = kind_of(pconf.type).effective(pconf)
        model = roots[spec.name]
        info = kind.lookup(model) if model else None
        price = cost.price_per_1m(model, info, method=spec.method_type, training_type=spec.method.get("training_type"),
                                  overrides=ws.config.prices, provider=spec.provider) if model and info else None
        roles: dict[str, FileReport] = {}
        for role, ref in (("training_file", spec.training_file), ("validation_file", spec.validation_file)):
            if ref is None:
                continue
            roles[role] = check_file(ref.path, info=info, method=spec.method_type, n_epochs=spec.n_epochs,
                                     default_epochs=kind.capabilities.default_epochs, price=price, cache_dir=cache,
                                     role="training" if role == "training_file" else "validation",
                                     min_examples=kind.capabilities.min_examples)
        if "validation_file" in roles:  # with the reports' real paths: overlap may re-read the files
            ws.overlap[spec.name] = check_overlap(roles["training_file"], roles["validation_file"], cache_dir=cache)
        ws.reports[spec.name] = {role: report.with_path(Path(ws.config.rel(report.path)))
                                 for role, report in roles.items()}


class ProviderPool:
    """Providers opened on first use (with the keys trusted configuration binds to them) and closed together."""

    def __init__(self, config: ProjectConfig, trust: Trust | None = None, **provider_kwargs: Any):
        self.config = config
        self.trust = trust or Trust.from_environment()
        self._open: dict[str, Provider] = {}
        self._kwargs = provider_kwargs

    def __call__(self, name: str) -> Provider:
        if name not in self.config.providers:
            raise ConfigError(f"provider {name!r} is not defined in ftops.yaml")
        if name not in self._open:
            self._open[name] = open_provider(self.config.providers[name], self.config, trust=self.trust,
                                             **self._kwargs)
        return self._open[name]

    def used(self, ws: Workspace) -> tuple[dict[str, Provider], dict[str, str]]:
        """The providers the specs and the lockfile use, opened; and those not contacted, with why."""
        names = {s.provider for s in ws.specs} | {e.provider for e in ws.lock.entries.values()}
        opened, skipped = {}, {}
        for name in sorted(n for n in names if n in self.config.providers):
            try:
                opened[name] = self(name)
            except UntrustedProvider as exc:
                skipped[name] = exc.message + (f" ({exc.hint})" if exc.hint else "")
        return opened, skipped

    def close(self) -> None:
        for provider in self._open.values():
            provider.close()
        self._open.clear()

    def __enter__(self) -> "ProviderPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def observe(ws: Workspace, pool: ProviderPool | None) -> Observed:
    if pool is None:
        return NOT_REFRESHED
    opened, skipped = pool.used(ws)
    return refresh(opened, ws.project, ws.lock, skipped)


def plan_options(ws: Workspace, *, prune: bool = False, targets: frozenset[str] = frozenset(),
                 today: dt.date | None = None, retry: frozenset[str] = frozenset(),
                 accept: frozenset[str] = frozenset(), eval_keys: dict[str, str] | None = None) -> PlanOptions:
    return PlanOptions(today=today or dt.date.today(), project=ws.project, prune=prune, targets=targets,
                       warn_days=ws.config.warn_days, prices=ws.config.prices, budget_usd=ws.config.budget_usd,
                       providers=dict(ws.config.providers), retry=retry, accept=accept,
                       eval_keys=dict(eval_keys or {}))


def build_plan(ws: Workspace, observed: Observed, *, prune: bool = False, targets: frozenset[str] = frozenset(),
               today: dt.date | None = None, retry: frozenset[str] = frozenset(),
               accept: frozenset[str] = frozenset()) -> Plan:
    from ftops.eval import planning  # evals: their data is read here, so the plan itself stays pure

    prepared = planning.prepare(ws)
    opts = plan_options(ws, prune=prune, targets=targets, today=today, retry=retry, accept=accept,
                        eval_keys=prepared.keys)
    return planning.with_evals(make_plan(ws.specs, ws.lock, observed, ws.facts, opts), ws, prepared, opts)
