"""Validate emulator responses against OpenAI's published OpenAPI subset (a copy lives next to this file).

The document says ``openapi: 3.1.0`` but still uses OpenAPI 3.0 idioms that a JSON Schema 2020-12 validator
would misread. We translate exactly those, and nothing else:
- ``nullable: true`` -> the schema also accepts null (``type: [T, "null"]``; in an ``allOf`` the whole ``allOf``);
- ``exclusiveMinimum: true`` next to ``minimum: X`` -> ``exclusiveMinimum: X`` (same for maximum);
- the job ``status`` enum gains ``paused``: the API's own pause example returns it (reference doc, "status enum").

Nothing else is relaxed: every answer of the emulator, in every state, must match the document as published
(tests/published.py checks all of them, suite-wide).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator, FormatChecker

SPEC = Path(__file__).with_name("openai-openapi-subset.yaml")


def _translate(node):
    if isinstance(node, list):
        return [_translate(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _translate(v) for k, v in node.items()}
    for bound in ("Minimum", "Maximum"):
        if node.get(f"exclusive{bound}") is True:
            node[f"exclusive{bound}"] = node.pop(bound.lower())
    if "allOf" in node and any(isinstance(s, dict) and s.get("nullable") for s in node["allOf"]):
        rest = {k: v for k, v in node.items() if k != "allOf"}
        members = [{k: v for k, v in s.items() if k != "nullable"} for s in node["allOf"]]
        return {**rest, "anyOf": [{"allOf": members}, {"type": "null"}]}
    if node.pop("nullable", False) and "type" in node:
        node["type"] = [node["type"], "null"]
    return node


@lru_cache(maxsize=1)
def components() -> dict:
    doc = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    comps = _translate(doc["components"])
    comps["schemas"]["FineTuningJob"]["properties"]["status"]["enum"].append("paused")
    return {"components": comps, "paths": doc["paths"]}


@lru_cache(maxsize=None)
def validator(schema_name: str) -> Draft202012Validator:
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": components()["components"]}
    return Draft202012Validator(schema, format_checker=FormatChecker())


def validate(schema_name: str, body) -> None:
    errors = sorted(validator(schema_name).iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        where = "/".join(map(str, errors[0].absolute_path))
        raise AssertionError(f"{schema_name} at {where!r}: {errors[0].message}")


def response_schema(method: str, path: str) -> str | None:
    """The 200 response schema the spec declares for ``method path`` (path without the /v1 prefix)."""
    for template, operations in components()["paths"].items():
        if re.fullmatch(re.sub(r"\{\w+\}", "[^/]+", template), path):
            op = operations.get(method.lower()) or {}
            content = (op.get("responses", {}).get("200", {}).get("content") or {})
            ref = (content.get("application/json") or {}).get("schema", {}).get("$ref", "")
            return ref.rsplit("/", 1)[-1] or None
    return None
