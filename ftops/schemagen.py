"""Build ``schemas/config.schema.json`` from the registered provider types, so each type's ftops.yaml options are
declared once, next to the type. The file is checked in (editors read it); a test fails when it is stale:
regenerate it with ``python -m ftops.schemagen``."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from ftops.providers import registry

TEMPLATE = "schemas/config.template.json"
TARGET = "schemas/config.schema.json"


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


if __name__ == "__main__":
    target = Path(__file__).parent / TARGET
    target.write_text(render(), encoding="utf-8")
    print(f"wrote {target}")
