"""What ftops knows about base models: tokenizer, context limit, training price and lifecycle.

The table lives in ``ftops/data/models.yaml`` (package data, with its sources). Fine-tuned model ids
(``ft:BASE:ORG:SUFFIX:ID``) resolve to their base model, so a continued fine-tune inherits its limits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import yaml

DEFAULT_ENCODING = "o200k_base"


@dataclass(frozen=True)
class ModelInfo:
    name: str  # canonical (snapshot) name, or the name asked for when unknown
    known: bool
    encoding: str = DEFAULT_ENCODING
    context: int | None = None  # max tokens per training example
    usd_per_1m_training_tokens: float | None = None
    shutdown_date: dt.date | None = None
    methods: tuple[str, ...] = ("supervised", "dpo", "reinforcement")
    formats: tuple[str, ...] = ("chat",)
    note: str | None = None


@dataclass(frozen=True)
class Catalog:
    models: dict[str, ModelInfo]
    aliases: dict[str, str]
    price_source: str
    price_date: str
    training_cutoffs: dict[str, dt.date] = field(default_factory=dict)  # provider type -> last day for new jobs

    def lookup(self, model: str) -> ModelInfo:
        name = base_of(model)
        name = self.aliases.get(name, name)
        info = self.models.get(name)
        if info is None:
            return ModelInfo(name=name, known=False)
        return info


def base_of(model: str) -> str:
    """``ft:gpt-4o-mini-2024-07-18:org:suffix:id`` -> ``gpt-4o-mini-2024-07-18``; other names unchanged."""
    if model.startswith("ft:"):
        parts = model.split(":")
        if len(parts) >= 2 and parts[1]:
            return parts[1]
    return model


def _date(value) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    text = resources.files("ftops").joinpath("data/models.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    models: dict[str, ModelInfo] = {}
    aliases: dict[str, str] = {}
    for name, row in raw["models"].items():
        formats = tuple(row.get("formats") or ["chat"])
        models[name] = ModelInfo(
            name=name,
            known=True,
            encoding=row["encoding"],
            context=row.get("context"),
            usd_per_1m_training_tokens=row.get("usd_per_1m_training_tokens"),
            shutdown_date=_date(row.get("shutdown_date")),
            methods=tuple(row.get("methods") or ModelInfo.methods),
            formats=formats,
            note=row.get("note"),
        )
        for alias in row.get("aliases") or []:
            aliases[alias] = name
    cutoffs = {p: _date(v.get("training_cutoff")) for p, v in (raw.get("providers") or {}).items()
               if v.get("training_cutoff")}
    return Catalog(models=models, aliases=aliases, price_source=raw.get("price_source", ""),
                   price_date=str(raw.get("price_date", "")), training_cutoffs=cutoffs)


def lookup(model: str) -> ModelInfo:
    return load_catalog().lookup(model)


OPENAI_KINDS = ("openai", "local")  # the providers whose lifecycle this table records (local emulates OpenAI)


def known_shutdown(model: str | None, provider_kind: str) -> str | None:
    """The shutdown date this table knows for ``model`` (or its base), only for OpenAI itself: other providers
    (Azure, gateways) retire the same models on their own dates."""
    if not model or provider_kind not in OPENAI_KINDS:
        return None
    date = lookup(model).shutdown_date
    return date.isoformat() if date else None
