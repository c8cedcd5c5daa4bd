"""What the lockfile says, with days left until each shutdown (the data behind `ftops status`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ftops.config import ProviderConfig
from ftops.lockfile import Lockfile
from ftops.providers.registry import kind as kind_of


def _days(date: str | None, today: dt.date) -> int | None:
    try:
        return (dt.date.fromisoformat(date) - today).days if date else None
    except ValueError:
        return None


def collect_status(lock: Lockfile, today: dt.date, providers: dict[str, ProviderConfig]) -> list[dict[str, Any]]:
    rows = []
    for name, entry in sorted(lock.entries.items()):
        base = (entry.inputs or {}).get("base_model")
        pconf = providers.get(entry.provider)
        base_date = entry.base_model_shutdown_date or (kind_of(pconf.type).known_shutdown(base, pconf)
                                                       if pconf else None)
        rows.append({
            "name": name, "provider": entry.provider, "model": entry.model, "fingerprint": entry.fingerprint,
            "job": entry.job, "pending": entry.pending and {k: entry.pending.get(k) for k in
                                                               ("job_id", "status", "error", "started_at", "requested")
                                                               if k in entry.pending or k != "requested"},
            "model_shutdown_date": entry.model_shutdown_date,
            "model_shutdown_days_left": _days(entry.model_shutdown_date, today),
            "base_model_shutdown_date": base_date, "base_model_shutdown_days_left": _days(base_date, today),
            "metrics": entry.metrics, "superseded": [s["model"] for s in entry.superseded or ()],
        })
    return rows
