"""What a provider type knows about its base models: tokenizer, context limit, training price and lifecycle.

Each provider type ships one table (``ftops/providers/<type>/models.yaml``, package data, with its sources); this
module reads any of them into a ``Catalog``. Unknown models still work: counting falls back to the table's default
encoding, there is no limit check and no price (the plan then says the cost is unknown).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

DEFAULT_ENCODING = "o200k_base"


@dataclass(frozen=True)
class ModelInfo:
    name: str  # canonical (snapshot) name, or the name asked for when unknown
    known: bool
    encoding: str = DEFAULT_ENCODING
    exact_tokens: bool = True  # False: ``encoding`` only approximates the model's own tokenizer
    context: int | None = None  # max tokens per training example
    prices: dict[str, float] = field(default_factory=dict)  # "default" | training type | "<method>" | "<method>:<type>"
    shutdown_date: dt.date | None = None
    methods: tuple[str, ...] = ("supervised", "dpo", "reinforcement")
    formats: tuple[str, ...] = ("chat",)
    training_types: tuple[str, ...] = ()  # lora / full where the provider lets the spec choose
    note: str | None = None
    # USD per 1M tokens of calling a model fine-tuned from this one: {"input": .., "output": ..} (eval estimates);
    # empty where the table has no inference prices.
    inference_prices: dict[str, float] = field(default_factory=dict)

    def price(self, method: str = "supervised", training_type: str | None = None) -> float | None:
        """USD per 1M training tokens for this method and training type (most specific entry wins)."""
        for key in (f"{method}:{training_type}", training_type, method, "default"):
            if key and key in self.prices:
                return self.prices[key]
        return None


@dataclass(frozen=True)
class Retired:
    """A model the provider no longer offers for fine-tuning, and what to use instead."""

    name: str
    replacements: tuple[str, ...]
    note: str = ""


@dataclass(frozen=True)
class Catalog:
    models: dict[str, ModelInfo]
    aliases: dict[str, str]
    price_source: str = ""
    price_date: str = ""
    default_encoding: str = DEFAULT_ENCODING
    exact_tokens: bool = True
    training_cutoff: dt.date | None = None  # the provider's last day for new jobs, where it announced one
    retired: dict[str, Retired] = field(default_factory=dict)
    default_epochs: int | None = None  # what the provider trains when n_epochs is omitted (None: OpenAI's heuristic)
    replaces: dict[str, str] = field(default_factory=dict)  # another provider's base model -> the one suggested here

    def lookup(self, model: str, base_of=lambda m: m) -> ModelInfo:
        name = base_of(model)
        name = self.aliases.get(name, name)
        info = self.models.get(name)
        if info is None:
            return ModelInfo(name=name, known=False, encoding=self.default_encoding, exact_tokens=self.exact_tokens)
        return info

    def retired_model(self, model: str) -> Retired | None:
        """The retired entry for ``model`` or for a legacy fine-tune of it (``curie:ft-org-2023...``)."""
        return self.retired.get(model) or self.retired.get(model.split(":", 1)[0])


def _date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _prices(raw: Any) -> dict[str, float]:
    if raw is None:
        return {}
    if isinstance(raw, (int, float)):
        return {"default": float(raw)}
    return {str(k): float(v) for k, v in raw.items() if v is not None}


def parse_catalog(raw: dict[str, Any]) -> Catalog:
    default_encoding = raw.get("default_encoding", DEFAULT_ENCODING)
    exact = bool(raw.get("exact_tokens", True))
    models: dict[str, ModelInfo] = {}
    aliases: dict[str, str] = {}
    for name, row in (raw.get("models") or {}).items():
        models[name] = ModelInfo(
            name=name, known=True, encoding=row.get("encoding", default_encoding),
            exact_tokens=bool(row.get("exact_tokens", exact)), context=row.get("context"),
            prices=_prices(row.get("usd_per_1m_training_tokens")), shutdown_date=_date(row.get("shutdown_date")),
            methods=tuple(row.get("methods") or ModelInfo.methods), formats=tuple(row.get("formats") or ["chat"]),
            training_types=tuple(row.get("training_types") or ()), note=row.get("note"),
            inference_prices=_prices(row.get("usd_per_1m_inference_tokens")))
        for alias in row.get("aliases") or []:
            aliases[alias] = name
    retired = {name: Retired(name, tuple(row.get("replacements") or ()), row.get("note", ""))
               for name, row in (raw.get("retired") or {}).items()}
    return Catalog(models=models, aliases=aliases, price_source=raw.get("price_source", ""),
                   price_date=str(raw.get("price_date", "")), default_encoding=default_encoding, exact_tokens=exact,
                   training_cutoff=_date(raw.get("training_cutoff")), retired=retired,
                   default_epochs=raw.get("default_epochs"),
                   replaces={str(k): str(v) for k, v in (raw.get("replaces") or {}).items()})


@lru_cache(maxsize=None)
def load_catalog(package: str, resource: str = "models.yaml") -> Catalog:
    """The table shipped in ``package`` (e.g. ``ftops.providers.openai``)."""
    text = resources.files(package).joinpath(resource).read_text(encoding="utf-8")
    return parse_catalog(yaml.safe_load(text))
