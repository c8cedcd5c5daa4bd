"""What the job verbs share: the project (specs read without checking datasets), its providers opened with the
keys trusted configuration binds, and which job a spec name means."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING
from pathlib import Path

from ftops.cli import context
from ftops.config import find_root
from ftops.errors import ConfigError, NotFoundError, PlanError
from ftops.lockfile import LockEntry
from ftops.providers import base as states
from ftops.providers.base import Provider, RemoteJob

if TYPE_CHECKING:  # the workspace (plan, schemas, providers) is imported when a command runs, not for --help
    from ftops.workspace import ProviderPool, Workspace


def root() -> Path:
    directory = context.current.directory
    if not directory.is_dir():
        raise ConfigError(f"{directory} is not a directory")
    return find_root(directory)


def workspace(*, check_data: bool = False) -> Workspace:
    from ftops.workspace import load_workspace

    return load_workspace(root(), check_data=check_data)


def pool(ws: Workspace) -> ProviderPool:
    from ftops.providers.http import RetryPolicy
    from ftops.trust import Trust
    from ftops.workspace import ProviderPool

    return ProviderPool(ws.config, Trust.from_environment(context.current.trusted_config),
                        policy=RetryPolicy(sleep=context.current.runtime.sleep))


def now_iso() -> str:
    now = context.current.runtime.now().astimezone(dt.timezone.utc).replace(microsecond=0)
    return now.isoformat().replace("+00:00", "Z")


def provider_of(ws: Workspace, name: str) -> str:
    """The provider a spec name trains on: its lockfile entry's, else its spec's."""
    entry = ws.lock.get(name)
    if entry is not None:
        return entry.provider
    spec = ws.spec(name)
    if spec is None:
        raise PlanError(f"no spec and no lockfile entry is named {name!r}",
                        hint="`ftops status` lists the lockfile; `ftops jobs` lists the jobs")
    return spec.provider


@dataclass(frozen=True)
class SpecJob:
    name: str
    provider: Provider
    job: RemoteJob
    entry: LockEntry | None
    pending: bool  # the lockfile's job in flight (or last tried) for this spec, not its pinned model's


def find_job(ws: Workspace, providers: ProviderPool, name: str, job_id: str | None = None, *,
             in_flight: bool = False) -> SpecJob:
    """The job ``name`` means: ``job_id`` when given; else the lockfile's pending job, else (unless
    ``in_flight``) the job of the pinned model, else the newest job the provider carries for the spec."""
    provider = providers(provider_of(ws, name))
    entry = ws.lock.get(name)
    pending_id = ((entry.pending if entry else None) or {}).get("job_id")
    chosen = job_id or pending_id or (None if in_flight else ((entry.job if entry else None) or {}).get("id"))
    if chosen:
        try:
            return SpecJob(name, provider, provider.get_job(chosen), entry, pending=chosen == pending_id)
        except NotFoundError:
            raise PlanError(f"{provider.name} has no job {chosen}" + (" (the lockfile names it)" if not job_id
                                                                       else "")) from None
    for job in provider.list_jobs(ws.project, limit=100):  # newest first
        if job.spec == name and (job.state in states.IN_FLIGHT or not in_flight):
            return SpecJob(name, provider, job, entry, pending=False)
    what = "in flight" if in_flight else "started"
    raise PlanError(f"{name} has no job {what}" + (f" (it pins {entry.model})" if entry and entry.model else ""),
                    hint="`ftops jobs` lists the jobs ftops knows; `ftops apply` starts one")
