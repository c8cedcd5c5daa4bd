"""The models the emulator offers: base models from the table of the dialect it speaks (``tables/<api>.yaml``,
its own, deliberately not the client's facts), and the fine-tuned models its jobs produced (``state["models"]``).

A base model's shutdown date is, by precedence: the admin override stored in the state, the config's
``shutdown_dates``, the table. A fine-tuned model shuts down with its base.
"""

from __future__ import annotations

import datetime as dt

from ftops.catalog import Catalog, ModelInfo, load_catalog
from ftops.emulator.state import Tx


def table(api: str) -> Catalog:
    return load_catalog("ftops.emulator", f"tables/{api}.yaml")


def base_of(tx: Tx, model_id: str) -> str:
    """The base model of a fine-tuned model this emulator made, else the id itself (``ft:`` names parsed too)."""
    record = tx.data["models"].get(model_id)
    if record is not None:
        return record["base"]
    if model_id.startswith("ft:"):
        parts = model_id.split(":")
        if len(parts) >= 2 and parts[1]:
            return parts[1]
    return model_id


def lookup(tx: Tx, model_id: str) -> ModelInfo:
    return table(tx.cfg.api).lookup(base_of(tx, model_id))


def base_ids(api: str) -> list[str]:
    cat = table(api)
    return sorted(set(cat.models) | set(cat.aliases))


def is_base(tx: Tx, model_id: str) -> bool:
    return model_id not in tx.data["models"] and table(tx.cfg.api).lookup(model_id).known


def today(tx: Tx) -> dt.date:
    return dt.datetime.fromtimestamp(tx.now, dt.timezone.utc).date()


def shutdown_date(tx: Tx, model_id: str) -> str | None:
    base = base_of(tx, model_id)
    info = table(tx.cfg.api).lookup(base)
    for overrides in (tx.data["model_overrides"], tx.cfg.shutdown_dates or {}):
        for key in (base, info.name):
            if key in overrides:
                return overrides[key]
    return info.shutdown_date.isoformat() if info.shutdown_date else None


def is_shut_down(tx: Tx, model_id: str) -> bool:
    date = shutdown_date(tx, model_id)
    return date is not None and dt.date.fromisoformat(date) <= today(tx)


def add_fine_tuned(tx: Tx, name: str, base: str, job_id: str, when: float) -> dict:
    record = {"id": name, "created": int(when), "owned_by": tx.cfg.org, "base": base, "job_id": job_id}
    tx.data["models"][name] = record
    tx.touch()
    return record
