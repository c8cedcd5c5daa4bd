"""The files ``ftops init`` writes: a project that passes ``ftops validate`` at once.

``project_files`` says what each file holds (templates in ``ftops/templates/init/``, filled in for the chosen
provider); ``write_new`` writes the ones that do not exist yet and never overwrites; ``ignore_state_dir`` makes
git ignore ``.ftops/``.

The spec's editor schema is a copy in the new project's ``schemas/`` (committed with it): it works offline,
matches the ftops that wrote it, and keeps the path the specs in ftops's own repository use
(``../schemas/spec.schema.json`` from ``specs/``). ``.ftops/`` would be the wrong place: git ignores it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ftops.errors import ConfigError

ACTION = "ftops/ftops@v1"  # ftops's composite action (action.yml at the root of ftops's repository)
GITIGNORE_LINE = ".ftops/"
_IGNORES_STATE = {".ftops", ".ftops/", "/.ftops", "/.ftops/", ".ftops/*", "/.ftops/*", ".ftops/**"}


@dataclass(frozen=True)
class ProviderChoice:
    block: str  # its entry under `providers:` in ftops.yaml (flow YAML)
    base_model: str  # for the example spec
    key_env: str | None  # where its API key comes from
    note: str  # a comment after the block


PROVIDERS = {
    "local": ProviderChoice("{type: local}", "gpt-4o-mini-2024-07-18", None,
                            "the built-in emulator: no account, no key, no cost; state in .ftops/local/"),
    "openai": ProviderChoice("{type: openai}", "gpt-4o-mini-2024-07-18", "OPENAI_API_KEY",
                             "the key comes from OPENAI_API_KEY"),
    "azure-openai": ProviderChoice('{type: azure-openai, base_url: "https://RESOURCE.openai.azure.com/openai/v1", '
                                   "api_key_env: AZURE_OPENAI_API_KEY}", "gpt-4o-mini-2024-07-18",
                                   "AZURE_OPENAI_API_KEY", "put your resource's name in base_url"),
    "together": ProviderChoice("{type: together}", "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference",
                               "TOGETHER_API_KEY", "the key comes from TOGETHER_API_KEY"),
    "fireworks": ProviderChoice("{type: fireworks, account: YOUR_ACCOUNT}",
                                "accounts/fireworks/models/qwen3-8b", "FIREWORKS_API_KEY",
                                "put your account id in account; the key comes from FIREWORKS_API_KEY"),
    "ray": ProviderChoice('{type: ray, address: "http://127.0.0.1:8265", artifacts: "file:///tmp/ftops-artifacts", '
                          "trainer: trl}", "Qwen/Qwen2.5-0.5B-Instruct", None,
                          "a Ray cluster's job API; checkpoints are written under artifacts"),
}


def project_name(directory: Path) -> str:
    """A name the config schema accepts (``[A-Za-z0-9._-]{1,64}``), from the directory's name."""
    name = re.sub(r"[^a-z0-9._-]+", "-", directory.name.lower())
    name = re.sub(r"-{2,}", "-", name).strip("-._")[:64].strip("-._")
    return name or "ftops-project"


def _template(name: str) -> str:
    return resources.files("ftops").joinpath(f"templates/init/{name}").read_text(encoding="utf-8")


def _fill(text: str, **values: str) -> str:
    for key, value in values.items():
        text = text.replace(f"@@{key}@@", value)
    return text


def _secret_env(key_env: str | None, *, forks: bool) -> str:
    """The `env:` of the step that calls the provider; a fork's pull request gets no secret."""
    if key_env is None:
        return ""
    value = (f"${{{{ env.FROM_FORK == 'false' && secrets.{key_env} || '' }}}}" if forks
             else f"${{{{ secrets.{key_env} }}}}")
    return f"        env:\n          {key_env}: {value}\n"


def _example_spec(provider: str, base_model: str) -> str:
    """The example spec, without the settings the provider type does not take (a seed, on Fireworks)."""
    from ftops.providers import registry

    text = _fill(_template("example.yaml"), BASE_MODEL=base_model)
    if provider in registry.types() and not registry.kind(provider).capabilities.seed:
        text = "".join(line for line in text.splitlines(keepends=True) if not line.startswith("seed:"))
    return text


def project_files(name: str, provider: str, *, github: bool = False) -> dict[str, str]:
    """Relative path -> content of every file a new project gets."""
    choice = PROVIDERS[provider]
    files = {
        "ftops.yaml": _fill(_template("ftops.yaml"), PROJECT=name, PROVIDER=provider, BLOCK=choice.block,
                            NOTE=choice.note),
        "specs/example.yaml": _example_spec(provider, choice.base_model),
        "data/example/train.jsonl": _template("train.jsonl"),
        "data/example/valid.jsonl": _template("valid.jsonl"),
        "schemas/spec.schema.json": resources.files("ftops").joinpath("schemas/spec.schema.json").read_text("utf-8"),
        "schemas/config.schema.json": resources.files("ftops").joinpath("schemas/config.schema.json")
                                               .read_text("utf-8"),
    }
    if github:
        files[".github/workflows/ftops-plan.yml"] = _fill(_template("ftops-plan.yml"), ACTION=ACTION,
                                                          PLAN_ENV=_secret_env(choice.key_env, forks=True))
        files[".github/workflows/ftops-apply.yml"] = _fill(_template("ftops-apply.yml"), ACTION=ACTION,
                                                           APPLY_ENV=_secret_env(choice.key_env, forks=False))
    return files


def write_new(root: Path, files: dict[str, str]) -> list[tuple[str, str]]:
    """Write each file that does not exist yet; returns (path, "created" or "kept (exists)") in order."""
    done = []
    for rel, content in files.items():
        path = root / rel
        if path.exists() or path.is_symlink():
            done.append((rel, "kept (exists)"))
            continue
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("x", encoding="utf-8", newline="\n") as fh:  # "x": never replace a file
                fh.write(content)
        except FileExistsError:
            done.append((rel, "kept (exists)"))
            continue
        except OSError as exc:
            raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
        done.append((rel, "created"))
    return done


def ignore_state_dir(root: Path) -> str:
    """Make git ignore .ftops/ (ftops's cache, locks and the local provider's state): create .gitignore or add
    one line to it, keeping its line endings; never add the line twice."""
    path = root / ".gitignore"
    try:
        if not path.exists():
            path.write_text(GITIGNORE_LINE + "\n", encoding="utf-8")
            return "created"
        with path.open(encoding="utf-8", newline="") as fh:
            text = fh.read()
        if any(line.strip() in _IGNORES_STATE for line in text.splitlines()):
            return "kept (ignores .ftops/ already)"
        newline = "\r\n" if "\r\n" in text else "\n"
        with path.open("a", encoding="utf-8", newline="") as fh:
            fh.write(("" if not text or text.endswith("\n") else newline) + GITIGNORE_LINE + newline)
        return "updated (added .ftops/)"
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot update {path}: {getattr(exc, 'strerror', None) or exc}") from None
