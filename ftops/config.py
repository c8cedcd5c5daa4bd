"""The project: where its root is, and what ``ftops.yaml`` says (all keys optional)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ftops import schema
from ftops.errors import ConfigError
from ftops.yamlload import load_documents, read_text

CONFIG_NAME = "ftops.yaml"
DEFAULT_SPECS = ("specs/**/*.yaml", "specs/**/*.yml")
DEFAULT_WARN_DAYS = 180
BUILTIN_PROVIDERS = {"local": {"type": "local"}, "openai": {"type": "openai"}}


@dataclass(frozen=True)
class ProviderConfig:
    name: str
    type: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProjectConfig:
    root: Path
    project: str
    spec_globs: tuple[str, ...]
    lockfile: Path
    default_provider: str
    providers: dict[str, ProviderConfig]
    prices: dict[str, float]
    budget_usd: float | None
    allow_paths: tuple[Path, ...]
    warn_days: int
    config_file: Path | None

    @property
    def state_dir(self) -> Path:
        return self.root / ".ftops"

    def rel(self, path: Path) -> str:
        """A path as shown to users and stored in the lockfile: relative to the root, POSIX separators."""
        try:
            return Path(os.path.relpath(path, self.root)).as_posix()
        except ValueError:
            return path.as_posix()


def find_root(start: Path) -> Path:
    """The nearest directory at or above ``start`` that holds ftops.yaml; ``start`` itself if none does."""
    start = start.resolve()
    for candidate in (start, *start.parents):
        if (candidate / CONFIG_NAME).is_file():
            return candidate
    return start


def load_config(root: Path) -> ProjectConfig:
    root = root.resolve()
    path = root / CONFIG_NAME
    data: dict[str, Any] = {}
    if path.is_file():
        docs = load_documents(read_text(path, CONFIG_NAME), CONFIG_NAME)
        if len(docs) > 1:
            raise ConfigError(f"{CONFIG_NAME} must hold one YAML document, found {len(docs)}")
        if docs and docs[0].data is not None:
            problems = schema.validate(docs[0], "config")
            if problems:
                raise ConfigError(f"{CONFIG_NAME} is not valid", problems=problems)
            data = docs[0].data
    for name, raw in (data.get("providers") or {}).items():
        _check_provider(name, raw)
    providers = {name: ProviderConfig(name, raw["type"], {k: v for k, v in raw.items() if k != "type"})
                 for name, raw in {**BUILTIN_PROVIDERS, **(data.get("providers") or {})}.items()}
    default_provider = data.get("default_provider", "local")
    if default_provider not in providers:
        raise ConfigError(f"{CONFIG_NAME}: default_provider {default_provider!r} is not one of the providers "
                          f"({', '.join(sorted(providers))})")
    allow_paths = tuple((root / p).resolve() for p in data.get("allow_paths") or [])
    lockfile = (root / data.get("lockfile", "ftops.lock")).resolve()
    if not any(lockfile.parent == r or r in lockfile.parents for r in (root, *allow_paths)):
        raise ConfigError(f"{CONFIG_NAME}: lockfile {data.get('lockfile')!r} resolves outside the project "
                          f"({lockfile}); add its directory to allow_paths if that is intended")
    return ProjectConfig(
        root=root,
        project=data.get("project") or _slug(root.name),
        spec_globs=tuple(data.get("specs") or DEFAULT_SPECS),
        lockfile=lockfile,
        default_provider=default_provider,
        providers=providers,
        prices={str(k): float(v) for k, v in (data.get("prices") or {}).items()},
        budget_usd=data.get("budget_usd"),
        allow_paths=allow_paths,
        warn_days=int(data.get("warn_days", DEFAULT_WARN_DAYS)),
        config_file=path if path.is_file() else None,
    )


def _slug(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "._-" else "-" for c in name)[:64]
    return cleaned or "ftops"


def require_project(config: ProjectConfig) -> ProjectConfig:
    """Refuse to plan "no changes" for a directory that is not an ftops project (a mistyped -C in CI)."""
    from ftops.spec import spec_files

    if config.config_file is None and not config.lockfile.exists() and not spec_files(config):
        raise ConfigError(f"{config.root} is not an ftops project: no {CONFIG_NAME}, no lockfile and no spec files "
                          f"matching {', '.join(config.spec_globs)}")
    return config


_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def _check_provider(name: str, raw: dict) -> None:
    """A key is sent only where the config says, and only over TLS unless the service is on this machine."""
    url = raw.get("base_url")
    if not url:
        return
    host = urlsplit(url).hostname or ""
    if url.startswith("http://") and host not in _LOOPBACK and not host.startswith("127."):
        raise ConfigError(f"{CONFIG_NAME}: providers.{name}.base_url uses plain http:// to {host}; API keys must "
                          "travel over https (plain http is allowed on loopback only)")
    if raw.get("type") == "openai" and "api_key_env" not in raw:
        raise ConfigError(f"{CONFIG_NAME}: providers.{name} sets base_url, so name its key's environment variable "
                          "with api_key_env (ftops never sends OPENAI_API_KEY to a URL that is not OpenAI's)")
