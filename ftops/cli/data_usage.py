"""Which spec uses a dataset file, and how: so `ftops data check FILE` inside a project checks the file the way
that spec trains on it (its method, its root base model's tokenizer and limits, as training or validation data).
A project whose specs cannot be loaded says nothing here; `ftops validate` reports its problems."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ftops.errors import FtopsError


@dataclass(frozen=True)
class Usage:
    spec: str
    role: str  # "training" or "validation"
    model: str | None
    method: str
    n_epochs: int | str
    provider_type: str  # whose facts (tokenizer, limits, price) apply


def dataset_usages(root: Path) -> dict[Path, Usage]:
    """Resolved dataset path -> the first spec (in dependency order) that uses it."""
    from ftops.config import load_config
    from ftops.providers.registry import kind
    from ftops.spec import load_specs, root_base_models

    try:
        config = load_config(root)
        specs = load_specs(config)
    except (FtopsError, OSError):
        return {}
    models = root_base_models(specs)
    found: dict[Path, Usage] = {}
    for spec in specs:
        for role, ref in (("training", spec.training_file), ("validation", spec.validation_file)):
            if ref is not None:
                pconf = config.providers[spec.provider]
                found.setdefault(ref.path, Usage(spec.name, role, models[spec.name], spec.method_type, spec.n_epochs,
                                                 kind(pconf.type).effective(pconf).type))
    return found
