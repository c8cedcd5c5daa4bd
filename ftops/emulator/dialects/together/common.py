"""What the Together dialect's modules share: its model table's extra columns (limits), ISO timestamps, ids."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

from ftops.emulator import modeltable
from ftops.emulator.apierror import bad_request
from ftops.emulator.state import Tx

API = "together"
MAX_EPOCHS, MAX_EVALS, MAX_CHECKPOINTS = 20, 100, 20
MIN_LR, MAX_LR = 1e-8, 1e-2
MIN_MAX_SEQ_LENGTH = 512
BASE_CREATED = 1_700_000_000  # the table has no creation times; a fixed, plausible one


@dataclass(frozen=True)
class Limits:
    """One base model's fine-tuning limits (``GET /fine-tunes/models/limits``)."""

    name: str
    context: int
    context_dpo: int
    max_rank: int
    lora_batch: tuple[int, int, int]  # min, max SFT, max DPO
    full_batch: tuple[int, int, int] | None  # None: LoRA only
    params: int
    display_name: str

    def batch(self, training_type: str, method: str) -> tuple[int, int]:
        """(min, max) batch size for ``training_type`` ("Lora" | "Full") and ``method`` ("sft" | "dpo")."""
        low, sft, dpo = (self.full_batch if training_type == "Full" else self.lora_batch) or (0, 0, 0)
        return low, dpo if method == "dpo" else sft


@lru_cache(maxsize=1)
def _rows() -> dict[str, dict]:
    text = resources.files("ftops.emulator").joinpath(f"tables/{API}.yaml").read_text(encoding="utf-8")
    return dict(yaml.safe_load(text).get("models") or {})


def limits(name: str) -> Limits | None:
    row = _rows().get(name)
    if row is None:
        return None
    full = row.get("full_batch")
    return Limits(name=name, context=row["context"], context_dpo=row.get("context_dpo", row["context"]),
                  max_rank=row["max_lora_rank"], lora_batch=tuple(row["lora_batch"]),
                  full_batch=tuple(full) if full else None, params=int(row.get("params") or 0),
                  display_name=row.get("display_name") or name)


def base_models() -> list[str]:
    return sorted(_rows())


def resolve_base(tx: Tx, name: str) -> str | None:
    """The base model of ``name``: a base of the table, a model a job made (its output name), or a job id (the
    forms ``from_checkpoint`` takes, without the ``:step``); None when it is none of these."""
    if name in _rows():
        return name
    if name in tx.data["models"]:
        return tx.data["models"][name]["base"]
    job = tx.data["jobs"].get(name)
    return job["base"] if job is not None else None


def iso(when: float) -> str:
    """``2026-11-21T10:00:00.123Z``: how Together writes a job's times."""
    stamp = dt.datetime.fromtimestamp(when, dt.timezone.utc).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def job_id() -> str:
    return f"ft-{uuid.uuid4()}"


def model_object_id(name: str) -> str:
    """A stable ``ml_...`` id for a model the emulator made (Together's model registry id)."""
    return "ml_" + uuid.uuid5(uuid.NAMESPACE_URL, f"ftops-emulator:{name}").hex[:24]


def is_shut_down(tx: Tx, name: str) -> bool:
    return modeltable.is_shut_down(tx, name)


def expect(condition: bool, message: str, param: str) -> None:
    if not condition:
        raise bad_request(message, param=param)
