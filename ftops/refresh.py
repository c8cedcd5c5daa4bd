"""Ask each provider what it really has: the jobs and models the lockfile refers to, ftops's own jobs (to find
work an interrupted apply left behind, by launch key), and base models' shutdown dates. Few requests: one models
list and one page of jobs per provider, then single GETs only for what those did not show."""

from __future__ import annotations

from dataclasses import dataclass, field

from ftops.errors import NotFoundError
from ftops.lockfile import Lockfile
from ftops.providers.base import IN_FLIGHT, SUCCEEDED, Provider, RemoteJob, RemoteModel


@dataclass(frozen=True)
class ProviderView:
    jobs: dict[str, RemoteJob] = field(default_factory=dict)  # by id
    models: dict[str, RemoteModel] = field(default_factory=dict)  # what exists, by id
    listed: frozenset[str] = frozenset()  # what the provider's own models list offers (pinned lookups aside)
    missing_models: frozenset[str] = frozenset()  # pinned models the provider says do not exist
    missing_jobs: frozenset[str] = frozenset()  # pending jobs the provider says do not exist
    # launch key id -> ftops's newest job for it that is in flight, or succeeded with its model still there
    by_key: dict[str, RemoteJob] = field(default_factory=dict)


@dataclass(frozen=True)
class Observed:
    refreshed: bool
    views: dict[str, ProviderView] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # provider -> why it was not contacted

    def view(self, provider: str) -> ProviderView:
        return self.views.get(provider, ProviderView())

    def job(self, provider: str, job_id: str | None) -> RemoteJob | None:
        return self.view(provider).jobs.get(job_id) if job_id else None


NOT_REFRESHED = Observed(refreshed=False)


def _wanted(lock: Lockfile, provider: str) -> tuple[set[str], set[str]]:
    job_ids: set[str] = set()
    models: set[str] = set()
    for entry in lock.entries.values():
        if entry.provider != provider:
            continue
        pinned = entry.trained_model or entry.model
        if pinned:
            models.add(pinned)
        if entry.pending and entry.pending.get("job_id"):
            job_ids.add(entry.pending["job_id"])
    return job_ids, models


def refresh_provider(provider: Provider, project: str, lock: Lockfile) -> ProviderView:
    job_ids, pinned = _wanted(lock, provider.name)
    models = {m.id: m for m in provider.list_models()}
    listed = frozenset(models)
    missing = set()
    for model in sorted(pinned - set(models)):
        found = provider.get_model(model)  # a list may omit what a GET finds
        if found:
            models[found.id] = found
        else:
            missing.add(model)
    jobs: dict[str, RemoteJob] = {}
    by_key: dict[str, RemoteJob] = {}
    for job in provider.list_jobs(project, limit=100):  # newest first
        jobs[job.id] = job
        if not job.launch_key or job.launch_key in by_key:
            continue
        if job.state in IN_FLIGHT or (job.state == SUCCEEDED and job.fine_tuned_model in models):
            by_key[job.launch_key] = job
    missing_jobs = set()
    for job_id in sorted(job_ids - set(jobs)):
        try:
            jobs[job_id] = provider.get_job(job_id)
        except NotFoundError:
            missing_jobs.add(job_id)
    return ProviderView(jobs=jobs, models=models, listed=listed, missing_models=frozenset(missing),
                        missing_jobs=frozenset(missing_jobs), by_key=by_key)


def refresh(providers: dict[str, Provider], project: str, lock: Lockfile,
            skipped: dict[str, str] | None = None) -> Observed:
    """Refresh the given providers (those a spec or lock entry uses); ``skipped`` names the ones not contacted."""
    return Observed(refreshed=True, views={name: refresh_provider(provider, project, lock)
                                           for name, provider in sorted(providers.items())},
                    skipped=dict(skipped or {}))
