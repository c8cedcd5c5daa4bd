"""Every answer the suite's emulators give, checked against the provider's published OpenAPI document.

Documents (copies of ``../shared/reference/``, next to the emulator tests): OpenAI's fine-tuning subset for the
``openai`` dialect and for the data plane of the ``azure`` dialect (Azure OpenAI's v1 API has OpenAI's paths under
``/openai/v1``), Together's for ``together``. Fireworks publishes no OpenAPI document (its SDK is the wire
reference), Azure's management plane (ARM deployments) has none in the reference either, and Ray is tested against
a real Ray head, not an emulator: their answers are not checked here. (ARM answers are checked against the shape
the REST reference page gives, in ``_arm_problem``, so the error envelope ``{"error": {"code", "message"}}`` holds.)

A check looks up (path, method, status): a success must match the schema the document declares for it; an error
must match the document's error schema (OpenAI ``ErrorResponse``, Together ``ErrorData``), whatever its status,
since neither document lists most error statuses. An answer on a path the document does not have is a mismatch
unless ``UNPUBLISHED`` names it, with the reason. Validators are compiled once per schema.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from tests.emulator import openapi, together_openapi

# Where each dialect's published API lives on the emulator (paths outside are admin or storage, never checked).
PREFIXES = {"openai": ("/v1",), "azure": ("/openai/v1",), "together": ("/v1", "/v2")}
ARM = re.compile(r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.CognitiveServices/accounts/"
                 r"[^/]+/deployments(/[^/]+)?$")

# Answers on paths the document does not have: (dialect family, method, path regex) -> schema name or None.
UNPUBLISHED: dict[tuple[str, str, str], str | None] = {
    # providers-2026.md 1.1: OpenAI's help centre points at GET /v1/fine_tuning/model_limits for the models an
    # org may fine-tune; it is not in the 2026-08 OpenAPI subset, so its shape is unpublished.
    ("openai", "GET", r"/fine_tuning/model_limits"): None,
    # The official Together SDK's upload flow and project models list (not in Together's published document).
    ("together", "POST", r"/v1/files/[^/]+/preprocess"): "FileResponse",
    ("together", "POST", r"/v1/files"): None,  # 302 to the presigned upload (or 409 {file_id}: that checksum exists)
    ("together", "GET", r"/v2/projects/[^/]+/models"): None,
    # Inference, which the eval gate scores models through: both subsets cover fine-tuning, files and models only
    # (the inference shapes the emulator answers are held by the official SDKs in tests/eval instead).
    ("openai", "POST", r"/(chat/)?completions"): None,
    ("together", "POST", r"/v1/(chat/)?completions"): None,
}
# Paths whose published success schema is known to be wrong (the reference says so): only errors are checked.
SPEC_BUGS = {("openai", "GET", r"/files/[^/]+/content")}  # "The spec wrongly types it as application/json string"


def family(api: str) -> str:
    return "openai" if api in ("openai", "azure") else api


def problem(answer: dict[str, Any]) -> str | None:
    """Why one recorded answer does not match its document, or None (also for answers nobody publishes)."""
    api, method, path, status = answer["api"], answer["method"], answer["path"], int(answer["status"])
    if api == "azure" and ARM.match(path):
        return _arm_problem(answer)
    prefix = next((p for p in PREFIXES.get(api, ()) if path == p or path.startswith(p + "/")), None)
    if prefix is None:
        return None  # admin, storage, or a dialect without a published document (Fireworks)
    fam = family(api)
    local = path[len(prefix):] if fam == "openai" else path
    is_json = "json" in (answer.get("content_type") or "")
    body = answer.get("body")
    responses = _responses(fam, method, local)
    if responses is None:  # the document has no such operation
        if status >= 400:
            return _error(fam, is_json, answer)
        for (f, m, pattern), schema in UNPUBLISHED.items():
            if f == fam and m == method and re.fullmatch(pattern, local):
                return _validate(fam, {"$ref": f"#/components/schemas/{schema}"}, body) if schema and is_json \
                    else None
        return f"the document has no {method} {local}; add it to tests/published.py UNPUBLISHED with the reason"
    declared = responses.get(str(status))
    if declared is None:
        if status >= 400:
            return _error(fam, is_json, answer)
        return f"the document declares no {status} answer for {method} {local}"
    if any(f == fam and m == method and re.fullmatch(p, local) for f, m, p in SPEC_BUGS):
        return None
    content = declared.get("content") or {}
    schema = (content.get("application/json") or {}).get("schema")
    if schema is None:
        return f"the document declares a {', '.join(content) or 'bodyless'} answer, the emulator sent JSON" \
            if is_json and content else None
    if not is_json:
        return f"the document declares a JSON answer, the emulator sent {answer.get('content_type')}"
    return _validate(fam, schema, body)


def _error(fam: str, is_json: bool, answer: dict[str, Any]) -> str | None:
    """An error status the document does not list: its error envelope, whatever the status."""
    if not is_json:
        return f"an error answered without a JSON body ({answer.get('content_type')})"
    return _validate(fam, _error_schema(fam), answer.get("body"))


def _error_schema(fam: str) -> dict:
    return {"$ref": "#/components/schemas/" + ("ErrorResponse" if fam == "openai" else "ErrorData")}


def _document(fam: str) -> dict:
    return openapi.components() if fam == "openai" else together_openapi.document()


@lru_cache(maxsize=None)
def _operations(fam: str) -> list[tuple[re.Pattern, dict]]:
    return [(re.compile(re.sub(r"\{\w+\}", "[^/]+", template) + "$"), ops)
            for template, ops in _document(fam)["paths"].items()]


def _responses(fam: str, method: str, path: str) -> dict | None:
    """The responses the document declares for (method, path); None when it has no such operation."""
    for pattern, ops in _operations(fam):
        if pattern.match(path) and method.lower() in ops:
            return ops[method.lower()].get("responses") or {}
    return None


@lru_cache(maxsize=None)
def _validator(fam: str, schema_json: str) -> Draft202012Validator:
    schema = json.loads(schema_json)
    return Draft202012Validator({**schema, "components": _document(fam)["components"]},
                                format_checker=FormatChecker())


def _validate(fam: str, schema: dict | None, body: Any) -> str | None:
    if schema is None:
        return None
    errors = sorted(_validator(fam, json.dumps(schema, sort_keys=True)).iter_errors(body),
                    key=lambda e: list(map(str, e.absolute_path)))
    if not errors:
        return None
    where = "/".join(map(str, errors[0].absolute_path))
    return f"at {where or '(top)'!r}: {errors[0].message[:300]}"


# Azure Resource Manager, Microsoft.CognitiveServices accounts/deployments (learn.microsoft.com REST reference,
# "Deployments - Create Or Update / Get / List / Delete"; no OpenAPI document of it is in ../shared/reference).
_ARM_ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}}
_ARM_DEPLOYMENT = {"type": "object", "required": ["id", "name", "type", "sku", "properties"], "properties": {
    "id": {"type": "string"}, "name": {"type": "string"},
    "type": {"const": "Microsoft.CognitiveServices/accounts/deployments"},
    "sku": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"},
                                                                   "capacity": {"type": "integer"}}},
    "properties": {"type": "object", "required": ["model", "provisioningState"], "properties": {
        "model": {"type": "object", "required": ["format", "name"]},
        "provisioningState": {"enum": ["Accepted", "Creating", "Updating", "Moving", "Deleting", "Succeeded",
                                       "Failed", "Canceled", "Disabled"]}}}}}
_ARM_LIST = {"type": "object", "required": ["value"], "properties": {"value": {"type": "array",
                                                                               "items": _ARM_DEPLOYMENT}}}


_ARM_VALIDATORS = {id(schema): Draft202012Validator(schema) for schema in (_ARM_ERROR, _ARM_DEPLOYMENT, _ARM_LIST)}


def _arm_problem(answer: dict[str, Any]) -> str | None:
    status, method, body = int(answer["status"]), answer["method"], answer.get("body")
    if status >= 400:
        schema = _ARM_ERROR
    elif method == "DELETE" or status == 204:
        return None if not body else "a delete answered with a body"
    else:
        schema = _ARM_LIST if ARM.match(answer["path"]).group(1) is None and method == "GET" else _ARM_DEPLOYMENT
    errors = list(_ARM_VALIDATORS[id(schema)].iter_errors(body))
    return f"at {'/'.join(map(str, errors[0].absolute_path)) or '(top)'!r}: {errors[0].message[:300]}" \
        if errors else None


def check_directory(directory: Path) -> list[str]:
    """Every mismatch among the answers recorded under ``directory`` (one line each)."""
    found = []
    for path in sorted(directory.glob("answers-*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            answer = json.loads(line)
            why = problem(answer)
            if why:
                found.append(f"{answer['api']} {answer['method']} {answer['path']} -> {answer['status']}: {why}")
    return found
