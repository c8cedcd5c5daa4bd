"""Validate the Together dialect's answers against Together's published OpenAPI spec (files / fine-tunes / models,
a copy next to this file with the two schema bugs the reference fixed, listed in its ``info.x-ftops-patches``).

The document says ``openapi: 3.1.0`` but uses OpenAPI 3.0's ``nullable: true``, which a JSON Schema 2020-12
validator ignores; it is translated to ``type: [T, "null"]`` and nothing else is changed, except one contradiction
of the spec with itself, allowed here in the open: ``FinetuneResponse.id`` is typed ``format: uuid`` while its own
examples (and Together's real ids) are ``ft-...``: the emulator answers ``ft-<uuid>``, so the format is dropped.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator, FormatChecker

SPEC = Path(__file__).with_name("together-openapi.yaml")


def _translate(node):
    if isinstance(node, list):
        return [_translate(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _translate(v) for k, v in node.items()}
    if node.pop("nullable", False) and "type" in node:
        node["type"] = [node["type"], "null"]
    return node


@lru_cache(maxsize=1)
def document() -> dict:
    doc = _translate(yaml.safe_load(SPEC.read_text(encoding="utf-8")))
    doc["components"]["schemas"]["FinetuneResponse"]["properties"]["id"].pop("format")
    return doc


def status_enum() -> list[str]:
    """The job statuses the spec declares (``FinetuneJobStatus``)."""
    return list(yaml.safe_load(SPEC.read_text(encoding="utf-8"))["components"]["schemas"]["FinetuneJobStatus"]["enum"])


def validate_schema(schema: dict, body, where: str = "") -> None:
    validator = Draft202012Validator({**schema, "components": document()["components"]},
                                     format_checker=FormatChecker())
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        at = "/".join(map(str, errors[0].absolute_path))
        raise AssertionError(f"{where} at {at!r}: {errors[0].message}")


def validate(schema_name: str, body) -> None:
    validate_schema({"$ref": f"#/components/schemas/{schema_name}"}, body, schema_name)


def response_schema(method: str, path: str, status: int = 200) -> dict | None:
    """The JSON schema the spec declares for ``method path`` answering ``status`` (path with its /v1 prefix)."""
    for template, operations in document()["paths"].items():
        if re.fullmatch(re.sub(r"\{\w+\}", "[^/]+", template), path):
            op = operations.get(method.lower())
            if op is None:
                continue
            content = (op.get("responses", {}).get(str(status), {}).get("content") or {})
            schema = (content.get("application/json") or {}).get("schema")
            if schema:
                return schema
    return None
