"""Helpers for the emulator tests: dataset builders, the admin client, the SDK with schema validation."""

from __future__ import annotations

import json
from urllib.parse import unquote, urlsplit

import httpx
import openai

from . import openapi

def chat_rows(n: int, tag: str = "q") -> list[dict]:
    return [{"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": f"{tag} {i}?"},
                          {"role": "assistant", "content": f"answer {tag} {i}"}]} for i in range(n)]


def jsonl(rows: list) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


class Admin:
    """The /_emulator endpoints, for moving the clock and asserting on state."""

    def __init__(self, emu):
        self.http = httpx.Client(base_url=emu.admin_url, timeout=10)

    def advance(self, seconds: float) -> int:
        return self.post("/clock", {"advance": seconds})["now"]

    def state(self) -> dict:
        return self.http.get("/state").raise_for_status().json()

    def post(self, path: str, body: dict | None = None) -> dict:
        return self.http.post(path, json=body or {}).raise_for_status().json()

    def job(self, job_id: str) -> dict:
        return next(j for j in self.state()["jobs"] if j["id"] == job_id)


def _validate_response(response) -> None:
    """Response hook: every successful JSON answer must match the spec's declared 200 schema."""
    path = unquote(urlsplit(str(response.request.url)).path).removeprefix("/v1")
    if response.status_code != 200 or "json" not in response.headers.get("content-type", ""):
        return
    response.read()
    name = openapi.response_schema(response.request.method, path)
    if name:
        openapi.validate(name, response.json())
        response.extensions["validated_schema"] = name


def sdk(emu, **kwargs) -> openai.OpenAI:
    http = openai.DefaultHttpxClient(event_hooks={"response": [_validate_response]})
    return openai.OpenAI(base_url=emu.url, api_key="sk-test", max_retries=kwargs.pop("max_retries", 0),
                         http_client=http, **kwargs)


def upload(client, rows, name: str = "train.jsonl") -> str:
    return client.files.create(file=(name, jsonl(rows)), purpose="fine-tune").id
