"""Spec files -> ``FineTuneSpec`` (frozen), validated against ``schemas/spec.schema.json`` and against what the
chosen provider type accepts.

Every problem names the file, line and key path, and all problems are reported at once. Nothing outside the
project is read: a spec file that is a link to a file outside it, or a ``specs:`` pattern that reaches outside
it, is reported, never opened.
"""

from __future__ import annotations

import glob
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftops import schema
from ftops.config import ProjectConfig
from ftops.errors import Problem, SpecError
from ftops.numbers import canonical, non_finite_paths
from ftops.yamlload import Document, load_documents, read_text

MAX_PATH_CHARS = 1024


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
    method: dict[str, Any]  # neutral: {type, training_type?, hyperparameters: declared values only, grader?, ...}
    suffix: str | None = None
    seed: int | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    integrations: tuple = ()
    protect: bool = False
    budget_usd: float | None = None
    source: str = ""  # "specs/support.yaml:3"
    provider_options: dict[str, dict[str, Any]] = field(default_factory=dict)  # provider type -> options
    moved_from: tuple[str, ...] = ()
    method_as_written: dict[str, Any] | None = None  # the YAML's method block (for fingerprints of ftops 0.1)
    deploy: dict[str, Any] | None = None  # the deploy step after training (not part of the fingerprint)
    pin: Any = "final"  # final | best_valid_loss | {step: N}: which model of the job is pinned (not fingerprinted)
    keep: int = 0  # superseded models apply --prune leaves on the provider (the newest ones)
    eval: dict[str, Any] | None = None  # the eval block as written (not part of the fingerprint; ftops.eval)
    eval_data: DatasetRef | None = None  # its data file, when it names one (else the validation file is used)

    @property
    def method_type(self) -> str:
        return self.method["type"]

    @property
    def hyperparameters(self) -> dict[str, Any]:
        return self.method["hyperparameters"]

    @property
    def n_epochs(self) -> int | str:
        return self.method["hyperparameters"].get("n_epochs", "auto")


def normalise_method(raw: dict | None) -> dict[str, Any]:
    """The method as the fingerprint and the providers see it: only what the spec declared ("auto" is the same as
    leaving a value out), numbers canonical (``3.0`` is ``3``), keys sorted."""
    raw = raw or {"type": "supervised"}
    declared = {k: canonical(v) for k, v in (raw.get("hyperparameters") or {}).items() if v != "auto"}
    method: dict[str, Any] = {"type": raw["type"]}
    if raw.get("training_type"):
        method["training_type"] = raw["training_type"]
    method["hyperparameters"] = dict(sorted(declared.items()))
    for key in ("grader", "response_format"):
        if raw.get(key) is not None:
            method[key] = json.loads(json.dumps(canonical(raw[key]), sort_keys=True))
    return method


def spec_files(config: ProjectConfig, outside: list[str] | None = None) -> list[Path]:
    """Spec files matching the project's patterns, inside the project only. What a pattern or a link would reach
    outside the project is left out (and named in ``outside`` when given)."""
    found: set[Path] = set()
    for pattern in config.spec_globs:
        for match in glob.glob(str(config.root / pattern), recursive=True):
            path = Path(match)
            try:
                real = path.resolve()
                regular = path.is_file()
            except (OSError, RuntimeError):  # a link loop, a name too long
                continue
            if not regular:
                continue
            if real != config.root and config.root not in real.parents:
                if outside is not None:
                    outside.append(os.path.relpath(path, config.root))
                continue
            found.add(real)
    return sorted(found)


def _inside(path: Path, config: ProjectConfig) -> bool:
    roots = (config.root, *config.allow_paths)
    return any(path == r or r in path.parents for r in roots)


def _file_problem(path: Path, shown: str) -> str | None:
    """Why ``path`` cannot be read as a dataset, or None."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return f"file not found: {shown}"
    except OSError as exc:
        return f"cannot read {shown} ({exc.strerror or exc})"
    if stat.S_ISDIR(mode):
        return f"{shown} is a directory, not a file"
    if not stat.S_ISREG(mode):
        return f"{shown} is not a regular file (a FIFO, socket or device); give a file"
    return None


def _dataset(doc: Document, key: str, spec_file: Path, config: ProjectConfig,
             problems: list[Problem], where: list | None = None) -> DatasetRef | None:
    """The dataset a spec names at ``key`` (or at the key path ``where``, e.g. ``eval.data``)."""
    where = where or [key]
    value = doc.data
    for part in where:
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return None
    key = ".".join(map(str, where))
    line = doc.line_of(where)

    def bad(message: str) -> DatasetRef | None:
        problems.append(Problem(message, file=doc.file, line=line, key=key))
        return None

    if "\x00" in value:
        return bad("the path contains a NUL byte")
    if len(value) > MAX_PATH_CHARS:
        return bad(f"the path is {len(value):,} characters long; ftops refuses paths over {MAX_PATH_CHARS}")
    try:
        path = (spec_file.parent / value).resolve()  # resolve() follows symlinks, so a link cannot escape
    except RuntimeError:
        return bad(f"{value!r} is a symbolic link loop")
    except OSError as exc:
        return bad(f"{value!r} cannot be resolved ({exc.strerror or exc})")
    if not _inside(path, config):
        return bad(f"{value!r} resolves outside the project ({path}); add its directory to allow_paths in "
                   "ftops.yaml if that is intended")
    problem = _file_problem(path, config.rel(path))
    if problem:
        return bad(problem)
    return DatasetRef(path=path, rel=config.rel(path))


def _moved_from(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


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
    eval_data = _dataset(doc, "data", spec_file, config, problems, where=["eval", "data"])
    if train and eval_data and train.path == eval_data.path:
        problems.append(Problem("eval.data is the training file; evaluate on examples the model was not trained on",
                                file=doc.file, line=doc.line_of(["eval", "data"]), key="eval.data"))
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
        provider_options={k: canonical(v) for k, v in (data.get("provider_options") or {}).items()},
        moved_from=_moved_from(data.get("moved_from")),
        method_as_written=data.get("method"),
        deploy=canonical(dict(data["deploy"])) if data.get("deploy") is not None else None,
        pin=canonical(data["pin"]) if data.get("pin") is not None else "final",
        keep=int(data.get("keep") or 0),
        eval=canonical(dict(data["eval"])) if data.get("eval") is not None else None,
        eval_data=eval_data,
    )


def load_specs(config: ProjectConfig) -> list[FineTuneSpec]:
    """Load and check every spec; raise one SpecError listing all problems. Returned in dependency order."""
    from ftops.eval.checks import spec_problems as eval_problems
    from ftops.providers.fit import spec_problems

    problems: list[Problem] = []
    specs: list[FineTuneSpec] = []
    where: dict[str, Document] = {}
    outside: list[str] = []
    memo = schema.Memo(config.cache_dir)
    for path in spec_files(config, outside):
        display = config.rel(path)
        try:
            docs = load_documents(read_text(path, display), display)
        except SpecError as exc:
            problems.extend(exc.problems)
            continue
        for doc in docs:
            if doc.data is None:
                continue
            found = schema.validate(doc, "spec", memo) + [
                Problem("must be a finite number (not .nan or .inf)", file=doc.file, line=doc.line_of(list(p)),
                        key=".".join(map(str, p))) for p in non_finite_paths(doc.data)]
            provider = doc.data.get("provider", config.default_provider) if isinstance(doc.data, dict) else None
            if isinstance(provider, str) and provider in config.providers:
                found += spec_problems(doc.data, config.providers[provider], doc)
            found = eval_problems(doc, found, config.providers.get(provider) if isinstance(provider, str) else None)
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
    memo.save()  # schema-valid documents, whatever else is wrong with them
    problems += [Problem("is outside the project (a link, or a specs: pattern reaching out of it); it was not "
                         "read", file=name) for name in sorted(outside)]
    by_name = {s.name: s for s in specs}
    for spec in specs:
        doc = where[spec.name]
        if spec.parent and spec.parent not in where:
            problems.append(Problem(f"base_model.spec refers to unknown spec {spec.parent!r}", file=doc.file,
                                    line=doc.line_of(["base_model", "spec"]), key="base_model.spec"))
        parent = by_name.get(spec.parent or "")
        if parent and parent.provider != spec.provider:
            problems.append(Problem(f"continues from spec {parent.name!r}, which trains on provider "
                                    f"{parent.provider!r}; a model can only be continued on the provider that "
                                    f"holds it (this spec uses {spec.provider!r})", file=doc.file,
                                    line=doc.line_of(["base_model", "spec"]), key="base_model.spec"))
        for moved in spec.moved_from:
            if moved in where and moved != spec.name:
                problems.append(Problem(f"moved_from names {moved!r}, which is still a spec; remove one of them",
                                        file=doc.file, line=doc.line_of(["moved_from"]), key="moved_from"))
    ordered, cycle = _topological(by_name)
    if cycle:
        doc = where[cycle[0]]
        problems.append(Problem(f"base_model.spec references form a cycle: {' -> '.join(cycle + [cycle[0]])}",
                                file=doc.file, line=doc.line_of(["base_model", "spec"]), key="base_model.spec"))
    if problems:
        count = len(problems)
        problems.sort(key=lambda p: (p.file or "", p.line or 0))  # as a reader goes through each file
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
