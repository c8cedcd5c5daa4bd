"""The project: where its root is, and what ``ftops.yaml`` says (all keys optional)."""

from __future__ import annotations

import math
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftops import schema
from ftops.errors import ConfigError, Problem
from ftops.numbers import non_finite_paths
from ftops.yamlload import Document, load_documents, read_text

CONFIG_NAME = "ftops.yaml"
DEFAULT_SPECS = ("specs/**/*.yaml", "specs/**/*.yml")
DEFAULT_WARN_DAYS = 180
BUILTIN_PROVIDERS = {"local": {"type": "local"}, "openai": {"type": "openai"}}
REMOVED_OPTIONS = {
    "organization_env": "organization: org-... (not a secret) or OPENAI_ORG_ID in the environment",
    "project_env": "openai_project: proj_... (not a secret) or OPENAI_PROJECT_ID in the environment",
}


@dataclass(frozen=True)
class ProviderConfig:
    name: str
    type: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProjectConfig:
    root: Path
    project: str  # the project's identity: tags every job ftops creates; the same in every clone
    project_source: str  # where the identity came from: "ftops.yaml", "git remote" or "directory name"
    spec_globs: tuple[str, ...]
    lockfile: Path
    default_provider: str
    providers: dict[str, ProviderConfig]
    prices: dict[str, Any]
    budget_usd: float | None
    allow_paths: tuple[Path, ...]
    warn_days: int
    config_file: Path | None
    cache_dir: Path | None = None  # where checked results may be cached (.ftops/); None: they are not trusted
    cache_committed: bool = False  # .ftops/ was refused as a cache because git tracks files in it

    @property
    def state_dir(self) -> Path:
        return self.root / ".ftops"


    def rel(self, path: Path) -> str:
        """A path as shown to users and stored in the lockfile: relative to the root, POSIX separators."""
        try:
            return Path(os.path.relpath(path, self.root)).as_posix()
        except ValueError:
            return path.as_posix()


def committed_state(root: Path) -> bool:
    """Whether git tracks files in ``root/.ftops``. Its cached results (dataset reports, file hashes, validated
    documents) are then not trusted: a pull request could commit "results" that lie about its datasets or specs,
    so everything is checked from scratch (and the plan says why)."""
    if not (root / ".ftops").is_dir():
        return False
    try:
        tracked = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--", ".ftops"], capture_output=True,
                                 timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return bool(tracked.strip(b"\0"))


def find_root(start: Path) -> Path:
    """The nearest directory at or above ``start`` that holds ftops.yaml; ``start`` itself if none does."""
    start = start.resolve()
    for candidate in (start, *start.parents):
        if (candidate / CONFIG_NAME).is_file():
            return candidate
    return start


def _document(path: Path, display: str, cache: Path | None = None) -> Document | None:
    docs = load_documents(read_text(path, display), display)
    if len(docs) > 1:
        raise ConfigError(f"{display} must hold one YAML document, found {len(docs)}")
    if not docs or docs[0].data is None:
        return None
    doc = docs[0]
    problems = [Problem(f"{key} is no longer supported (it let the config send any environment variable as a "
                        f"header); use {instead}", file=display, line=doc.line_of(["providers", name, key]),
                        key=f"providers.{name}.{key}")
                for name, raw in ((doc.data.get("providers") or {}).items() if isinstance(doc.data, dict) else ())
                if isinstance(raw, dict) for key, instead in REMOVED_OPTIONS.items() if key in raw]
    memo = schema.Memo(cache)
    problems += schema.validate(doc, "config", memo)
    memo.save()
    problems += [Problem("must be a finite number (not .nan or .inf)", file=display, line=doc.line_of(list(p)),
                         key=".".join(map(str, p))) for p in non_finite_paths(doc.data)]
    if problems:
        raise ConfigError(f"{display} is not valid", problems=problems)
    return doc


def _providers(doc: Document | None, display: str) -> dict[str, ProviderConfig]:
    from ftops.providers import registry
    from ftops.trust import plain_http_problem

    raw_providers = ((doc.data if doc else None) or {}).get("providers") or {}
    problems = []
    for name, raw in raw_providers.items():
        url = raw.get("base_url") or raw.get("address")
        line = doc.line_of(["providers", name]) if doc else None
        problem = plain_http_problem(url) if url and not raw.get("allow_http") else None
        if problem:
            field = "base_url" if raw.get("base_url") else "address"
            if "allow_http" in registry.kind(raw["type"]).options:
                problem += "; set allow_http: true if this endpoint is meant to be reached over plain http"
            problems.append(Problem(f"{field} {problem}", file=display, line=line, key=f"providers.{name}"))
        pconf = ProviderConfig(name, raw["type"], {k: v for k, v in raw.items() if k != "type"})
        problems += [Problem(p, file=display, line=line, key=f"providers.{name}")
                     for p in registry.kind(raw["type"]).config_problems(pconf)]
    if problems:
        raise ConfigError(f"{display} is not valid", problems=problems)
    return {name: ProviderConfig(name, raw["type"], {k: v for k, v in raw.items() if k != "type"})
            for name, raw in {**BUILTIN_PROVIDERS, **raw_providers}.items()}


def parse_config_file(path: Path, display: str) -> dict[str, ProviderConfig]:
    """The providers of a config file (used for trusted configs, which are only read, never a project)."""
    if not path.is_file():
        raise FileNotFoundError(path)
    return _providers(_document(path, display), display)


def load_config(root: Path) -> ProjectConfig:
    root = root.resolve()
    path = root / CONFIG_NAME
    committed = committed_state(root)
    cache = None if committed else root / ".ftops"
    doc = _document(path, CONFIG_NAME, cache) if path.is_file() else None
    data: dict[str, Any] = doc.data if doc else {}
    providers = _providers(doc, CONFIG_NAME)
    default_provider = data.get("default_provider", "local")
    if default_provider not in providers:
        raise ConfigError(f"{CONFIG_NAME}: default_provider {default_provider!r} is not one of the providers "
                          f"({', '.join(sorted(providers))})")
    allow_paths = tuple((root / p).resolve() for p in data.get("allow_paths") or [])
    lockfile = (root / data.get("lockfile", "ftops.lock")).resolve()
    if not any(lockfile.parent == r or r in lockfile.parents for r in (root, *allow_paths)):
        raise ConfigError(f"{CONFIG_NAME}: lockfile {data.get('lockfile')!r} resolves outside the project "
                          f"({lockfile}); add its directory to allow_paths if that is intended")
    project, source = (data["project"], "ftops.yaml") if data.get("project") else _derived_identity(root)
    budget = data.get("budget_usd")
    return ProjectConfig(
        root=root,
        project=project,
        project_source=source,
        spec_globs=tuple(data.get("specs") or DEFAULT_SPECS),
        lockfile=lockfile,
        default_provider=default_provider,
        providers=providers,
        prices=dict(data.get("prices") or {}),
        budget_usd=float(budget) if budget is not None and math.isfinite(budget) else None,
        allow_paths=allow_paths,
        warn_days=int(data.get("warn_days", DEFAULT_WARN_DAYS)),
        config_file=path if path.is_file() else None,
        cache_dir=cache,
        cache_committed=committed,
    )


def slug(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "._-" else "-" for c in name)[:64]
    return cleaned or "ftops"


def _derived_identity(root: Path) -> tuple[str, str]:
    """Without ``project:`` in ftops.yaml: the repository's name from its git remote (the same in every clone,
    whatever directory it was cloned into), else the directory's name."""
    try:
        url = subprocess.run(["git", "-C", str(root), "config", "--get", "remote.origin.url"], capture_output=True,
                             text=True, timeout=5, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        url = ""
    name = url.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1].removesuffix(".git") if url else ""
    if name:
        return slug(name), "git remote"
    return slug(root.name), "directory name"


def require_project(config: ProjectConfig) -> ProjectConfig:
    """Refuse to plan "no changes" for a directory that is not an ftops project (a mistyped -C in CI)."""
    from ftops.spec import spec_files

    if config.config_file is None and not config.lockfile.exists() and not spec_files(config):
        raise ConfigError(f"{config.root} is not an ftops project: no {CONFIG_NAME}, no lockfile and no spec files "
                          f"matching {', '.join(config.spec_globs)}")
    return config
