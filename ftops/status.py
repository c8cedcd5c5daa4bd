"""What the lockfile says, with days left until each shutdown (the data behind `ftops status`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ftops import catalog
from ftops.lockfile import Lockfile


def _days(date: str | None, today: dt.date) -> int | None:
    try:
        return (dt.date.fromisoformat(date) - today).days if date else None
    except ValueError:
        return None


def collect_status(lock: Lockfile, today: dt.date, provider_kinds: dict[str, str]) -> list[dict[str, Any]]:
    rows = []
    for name, entry in sorted(lock.entries.items()):
        base = (entry.inputs or {}).get("base_model")
        base_date = entry.base_model_shutdown_date or catalog.known_shutdown(
            base, provider_kinds.get(entry.provider, "unknown"))
        rows.append({
            "name": name, "provider": entry.provider, "model": entry.model, "fingerprint": entry.fingerprint,
            "job": entry.job, "pending": entry.pending and {k: entry.pending.get(k) for k in
                                                               ("job_id", "status", "error", "started_at")},
            "model_shutdown_date": entry.model_shutdown_date,
            "model_shutdown_days_left": _days(entry.model_shutdown_date, today),
            "base_model_shutdown_date": base_date, "base_model_shutdown_days_left": _days(base_date, today),
        })
    return rows
