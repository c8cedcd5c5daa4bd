"""Build ``schemas/config.schema.json`` from the registered provider types, so each type's ftops.yaml options are
declared once, next to the type, and the ``deploy`` block of ``schemas/spec.schema.json`` from each type's deploy
options (the union, for editors; each type checks its own when a spec is loaded). The files are checked in
(editors read them); a test fails when one is stale: regenerate them with ``python -m ftops.schemagen``."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from ftops.providers import registry

TEMPLATE = "schemas/config.template.json"
TARGET = "schemas/config.schema.json"
SPEC = "schemas/spec.schema.json"
DEPLOY = ("Make the trained model callable after training, where its provider needs a deploy step: the lockfile's "
          "model becomes the name applications call, and it moves only once that name answers. Each provider "
          "type takes its own keys ({types}). Not part of the fingerprint: a new deploy target deploys the pinned "
          "model there, without training again.")


def provider_schema() -> dict[str, Any]:
    branches = []
    for type_name in registry.types():
        kind = registry.kind(type_name)
        branches.append({
            "if": {"properties": {"type": {"const": type_name}}},
            "then": {"properties": {"type": {"const": type_name}, **kind.options},
                     "required": ["type", *kind.required], "additionalProperties": False,
                     "description": kind.description},
        })
    return {"type": "object", "required": ["type"], "description": "A provider: its type and that type's options.",
            "properties": {"type": {"enum": list(registry.types()), "description": "The provider type."}},
            "allOf": branches}


def build() -> dict[str, Any]:
    schema = json.loads(resources.files("ftops").joinpath(TEMPLATE).read_text(encoding="utf-8"))
    schema["properties"]["providers"]["additionalProperties"] = provider_schema()
    return schema


def render() -> str:
    return json.dumps(build(), indent=2) + "\n"


def deploy_schema() -> dict[str, Any]:
    """A spec's ``deploy`` block: every provider type's keys (a key two types share must mean the same)."""
    properties: dict[str, Any] = {}
    owners = []
    for type_name in registry.types():
        kind = registry.kind(type_name)
        if "deploy" not in kind.capabilities.verbs or not kind.deploy_options:
            continue
        owners.append(f"{type_name}: {', '.join(kind.deploy_options)}")
        for key, schema in kind.deploy_options.items():
            if properties.setdefault(key, schema) != schema:
                raise ValueError(f"deploy.{key} is declared differently by two provider types")
    return {"type": "object", "additionalProperties": False, "description": DEPLOY.format(types="; ".join(owners)),
            "properties": properties}


def render_spec() -> str:
    schema = json.loads(resources.files("ftops").joinpath(SPEC).read_text(encoding="utf-8"))
    schema["properties"]["deploy"] = deploy_schema()
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    for name, text in ((TARGET, render()), (SPEC, render_spec())):
        target = Path(__file__).parent / name
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}")
