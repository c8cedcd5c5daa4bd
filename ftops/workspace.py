"""The I/O half of the pipeline: load config, specs, lockfile and dataset facts; open providers; refresh; plan.

    ftops.yaml + specs --spec--> FineTuneSpec     datasets --dataset--> facts     provider --refresh--> Observed
    (specs, lock, observed, facts) --plan (pure)--> Plan
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftops.config import ProjectConfig, load_config, require_project
from ftops.errors import ConfigError
from ftops.dataset import FileReport, check_file, check_overlap
from ftops.lockfile import Lockfile, read_lockfile
from ftops.plan import DatasetFacts, Plan, PlanOptions, SpecFacts, make_plan
from ftops.providers import capabilities_for, open_provider, provider_kind
from ftops.providers.base import Provider
from ftops.refresh import NOT_REFRESHED, Observed, refresh
from ftops.spec import FineTuneSpec, load_specs, root_base_models


@dataclass
class Workspace:
    config: ProjectConfig
    specs: list[FineTuneSpec]
    lock: Lockfile
    reports: dict[str, dict[str, FileReport]] = field(default_factory=dict)  # spec -> role -> report
    overlap: dict[str, list] = field(default_factory=dict)  # spec -> findings shared between its files

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
    lock = read_lockfile(config.lockfile, config.rel(config.lockfile))
    ws = Workspace(config=config, specs=specs, lock=lock)
    if check_data:
        check_datasets(ws)
    return ws


def check_datasets(ws: Workspace) -> None:
    """Check every spec's files (results are cached by content under .ftops/, so this is cheap when unchanged)."""
    cache = ws.config.state_dir
    roots = root_base_models(ws.specs)
    for spec in ws.specs:
        model = roots[spec.name]
        roles: dict[str, FileReport] = {}
        for role, ref in (("training_file", spec.training_file), ("validation_file", spec.validation_file)):
            if ref is None:
                continue
            report = check_file(ref.path, model=model, method=spec.method_type, n_epochs=spec.n_epochs,
                                cache_dir=cache, price_overrides=ws.config.prices,
                                role="training" if role == "training_file" else "validation")
            roles[role] = report
        if "validation_file" in roles:  # with the reports' real paths: overlap may re-read the files
            ws.overlap[spec.name] = check_overlap(roles["training_file"], roles["validation_file"], cache_dir=cache)
        ws.reports[spec.name] = {role: report.with_path(Path(ws.config.rel(report.path)))
                                 for role, report in roles.items()}


class ProviderPool:
    """Providers opened on first use and closed together."""

    def __init__(self, config: ProjectConfig, **provider_kwargs: Any):
        self.config = config
        self._open: dict[str, Provider] = {}
        self._kwargs = provider_kwargs

    def __call__(self, name: str) -> Provider:
        if name not in self.config.providers:
            raise ConfigError(f"provider {name!r} is not defined in ftops.yaml")
        if name not in self._open:
            self._open[name] = open_provider(self.config.providers[name], self.config, **self._kwargs)
        return self._open[name]

    def all_used(self, ws: Workspace) -> dict[str, Provider]:
        names = {s.provider for s in ws.specs} | {e.provider for e in ws.lock.entries.values()}
        return {n: self(n) for n in sorted(names) if n in self.config.providers}

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
    return refresh(pool.all_used(ws), ws.config.project, ws.lock)


def build_plan(ws: Workspace, observed: Observed, *, prune: bool = False, targets: frozenset[str] = frozenset(),
               today: dt.date | None = None) -> Plan:
    opts = PlanOptions(today=today or dt.date.today(), prune=prune, targets=targets,
                       warn_days=ws.config.warn_days, prices=ws.config.prices, budget_usd=ws.config.budget_usd,
                       provider_types={n: provider_kind(p) for n, p in ws.config.providers.items()},
                       capabilities={n: capabilities_for(p.type) for n, p in ws.config.providers.items()})
    return make_plan(ws.specs, ws.lock, observed, ws.facts, opts)
