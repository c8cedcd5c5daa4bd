"""Spec files -> ``FineTuneSpec`` (frozen), validated against ``schemas/spec.schema.json``.

Every problem names the file, line and key path, and all problems are reported at once.
"""

from __future__ import annotations

import glob
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftops import schema
from ftops.config import ProjectConfig
from ftops.errors import Problem, SpecError
from ftops.yamlload import Document, load_documents, read_text

METHOD_DEFAULTS: dict[str, dict[str, Any]] = {
    "supervised": {"batch_size": "auto", "learning_rate_multiplier": "auto", "n_epochs": "auto"},
    "dpo": {"batch_size": "auto", "beta": "auto", "learning_rate_multiplier": "auto", "n_epochs": "auto"},
    "reinforcement": {"batch_size": "auto", "compute_multiplier": "auto", "eval_interval": "auto",
                      "eval_samples": "auto", "learning_rate_multiplier": "auto", "n_epochs": "auto",
                      "reasoning_effort": "default"},
}


@dataclass(frozen=True)
class DatasetRef:
    path: Path  # absolute
    rel: str  # relative to the project root, POSIX


@dataclass(frozen=True)
class FineTuneSpec:
    name: str
    provider: str
    base_model: str | None  # None when continuing from another spec
    parent: str | None  # the spec whose pinned model this one continues from
    training_file: DatasetRef
    validation_file: DatasetRef | None
    method: dict[str, Any]  # normalised: {type, hyperparameters: {all keys, "auto" filled in}, grader?}
    suffix: str | None = None
    seed: int | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    integrations: tuple = ()
    protect: bool = False
    budget_usd: float | None = None
    source: str = ""  # "specs/support.yaml:3"

    @property
    def method_type(self) -> str:
        return self.method["type"]

    @property
    def n_epochs(self) -> int | str:
        return self.method["hyperparameters"].get("n_epochs", "auto")


def normalise_method(raw: dict | None) -> dict[str, Any]:
    """Fill every hyperparameter the method knows with its default so that omitted and "auto" are the same."""
    raw = raw or {"type": "supervised"}
    kind = raw["type"]
    method: dict[str, Any] = {"type": kind,
                              "hyperparameters": {**METHOD_DEFAULTS[kind], **(raw.get("hyperparameters") or {})}}
    for key in ("grader", "response_format"):
        if raw.get(key) is not None:
            method[key] = json.loads(json.dumps(raw[key], sort_keys=True))
    method["hyperparameters"] = dict(sorted(method["hyperparameters"].items()))
    return method


def spec_files(config: ProjectConfig) -> list[Path]:
    found: set[Path] = set()
    for pattern in config.spec_globs:
        for match in glob.glob(str(config.root / pattern), recursive=True):
            path = Path(match)
            if path.is_file():
                found.add(path.resolve())
    return sorted(found)


def _inside(path: Path, config: ProjectConfig) -> bool:
    roots = (config.root, *config.allow_paths)
    return any(path == r or r in path.parents for r in roots)


def _dataset(doc: Document, key: str, spec_file: Path, config: ProjectConfig,
             problems: list[Problem]) -> DatasetRef | None:
    value = doc.data.get(key)
    if value is None:
        return None
    path = (spec_file.parent / value).resolve()  # resolve() follows symlinks, so a link cannot escape
    line = doc.line_of([key])
    if not _inside(path, config):
        problems.append(Problem(f"{value!r} resolves outside the project ({path}); add its directory to "
                                f"allow_paths in ftops.yaml if that is intended", file=doc.file, line=line, key=key))
        return None
    if not path.is_file():
        problems.append(Problem(f"file not found: {config.rel(path)}", file=doc.file, line=line, key=key))
        return None
    return DatasetRef(path=path, rel=config.rel(path))


def _build(doc: Document, spec_file: Path, config: ProjectConfig, problems: list[Problem]) -> FineTuneSpec | None:
    data = doc.data
    before = len(problems)
    provider = data.get("provider", config.default_provider)
    if provider not in config.providers:
        problems.append(Problem(f"unknown provider {provider!r}; ftops.yaml defines "
                                f"{', '.join(sorted(config.providers))}", file=doc.file,
                                line=doc.line_of(["provider"]), key="provider"))
    train = _dataset(doc, "training_file", spec_file, config, problems)
    valid = _dataset(doc, "validation_file", spec_file, config, problems)
    if train and valid and train.path == valid.path:
        problems.append(Problem("validation_file is the training file; they must not share examples",
                                file=doc.file, line=doc.line_of(["validation_file"]), key="validation_file"))
    if len(problems) > before or train is None:
        return None
    base = data["base_model"]
    return FineTuneSpec(
        name=data["name"],
        provider=provider,
        base_model=base if isinstance(base, str) else None,
        parent=base["spec"] if isinstance(base, dict) else None,
        training_file=train,
        validation_file=valid,
        method=normalise_method(data.get("method")),
        suffix=data.get("suffix"),
        seed=data.get("seed"),
        metadata=dict(data.get("metadata") or {}),
        integrations=tuple(data.get("integrations") or ()),
        protect=bool(data.get("protect", False)),
        budget_usd=data.get("budget_usd"),
        source=f"{doc.file}:{doc.start_line}",
    )


def load_specs(config: ProjectConfig) -> list[FineTuneSpec]:
    """Load and check every spec; raise one SpecError listing all problems. Returned in dependency order."""
    problems: list[Problem] = []
    specs: list[FineTuneSpec] = []
    where: dict[str, Document] = {}
    for path in spec_files(config):
        display = config.rel(path)
        try:
            docs = load_documents(read_text(path, display), display)
        except SpecError as exc:
            problems.extend(exc.problems)
            continue
        for doc in docs:
            if doc.data is None:
                continue
            found = schema.validate(doc, "spec")
            if found:
                problems.extend(found)
                continue
            name = doc.data["name"]
            if name in where:
                first = where[name]
                problems.append(Problem(f"duplicate spec name {name!r} (first defined at {first.file}:"
                                        f"{first.line_of(['name'])})", file=doc.file,
                                        line=doc.line_of(["name"]), key="name"))
                continue
            spec = _build(doc, path, config, problems)
            where[name] = doc
            if spec:
                specs.append(spec)
    by_name = {s.name: s for s in specs}
    for spec in specs:
        if spec.parent and spec.parent not in where:
            doc = where[spec.name]
            problems.append(Problem(f"base_model.spec refers to unknown spec {spec.parent!r}", file=doc.file,
                                    line=doc.line_of(["base_model", "spec"]), key="base_model.spec"))
    ordered, cycle = _topological(by_name)
    if cycle:
        doc = where[cycle[0]]
        problems.append(Problem(f"base_model.spec references form a cycle: {' -> '.join(cycle + [cycle[0]])}",
                                file=doc.file, line=doc.line_of(["base_model", "spec"]), key="base_model.spec"))
    if problems:
        count = len(problems)
        raise SpecError(f"{count} problem{'s' if count != 1 else ''} in specs", problems=problems)
    return ordered


def _topological(by_name: dict[str, FineTuneSpec]) -> tuple[list[FineTuneSpec], list[str]]:
    """Specs with parents after their parents (otherwise sorted by name), or the first cycle found."""
    ordered: list[FineTuneSpec] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done
    stack: list[str] = []

    def visit(name: str) -> list[str]:
        if state.get(name) == 2 or name not in by_name:
            return []
        if state.get(name) == 1:
            return stack[stack.index(name):]
        state[name] = 1
        stack.append(name)
        parent = by_name[name].parent
        if parent:
            cycle = visit(parent)
            if cycle:
                return cycle
        stack.pop()
        state[name] = 2
        ordered.append(by_name[name])
        return []

    for name in sorted(by_name):
        cycle = visit(name)
        if cycle:
            return [], cycle
    return ordered, []


def root_base_models(specs: list[FineTuneSpec]) -> dict[str, str | None]:
    """Each spec's base model at the top of its parent chain (what decides tokenizer, limits and price).
    ``specs`` come in dependency order (parents first), as ``load_specs`` returns them."""
    roots: dict[str, str | None] = {}
    for spec in specs:
        roots[spec.name] = spec.base_model or roots.get(spec.parent or "")
    return roots
