"""Fixtures for the Fireworks tests: the emulator speaking the fireworks dialect on loopback, the official
``fireworks-ai`` SDK pointed at it, and its admin endpoints."""

from __future__ import annotations

import json

import httpx
import pytest

from ftops.emulator import EmulatorConfig, start

ACCOUNT = "acct-1"
BASE = "accounts/fireworks/models/qwen3-8b"


def chat_rows(n: int, tag: str = "q") -> list[dict]:
    return [{"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": f"{tag} {i}?"},
                          {"role": "assistant", "content": f"answer {tag} {i}"}]} for i in range(n)]


def dpo_rows(n: int) -> list[dict]:
    return [{"input": {"messages": [{"role": "user", "content": f"q {i}?"}]},
             "preferred_output": [{"role": "assistant", "content": f"good {i}"}],
             "non_preferred_output": [{"role": "assistant", "content": f"bad {i}"}]} for i in range(n)]


def jsonl(rows: list) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


class Admin:
    def __init__(self, emu):
        self.http = httpx.Client(base_url=emu.admin_url, timeout=10)

    def advance(self, seconds: float) -> int:
        return self.http.post("/clock", json={"advance": seconds}).raise_for_status().json()["now"]

    def state(self) -> dict:
        return self.http.get("/state").raise_for_status().json()

    def post(self, path: str, body: dict | None = None) -> dict:
        return self.http.post(path, json=body or {}).raise_for_status().json()


@pytest.fixture
def emu(tmp_path):
    with start(EmulatorConfig(state_dir=tmp_path / "state", api="fireworks", job_duration=10.0)) as emulator:
        yield emulator


@pytest.fixture
def admin(emu):
    client = Admin(emu)
    yield client
    client.http.close()


@pytest.fixture
def fw(emu):
    from fireworks import Fireworks

    client = Fireworks(api_key="fw-test-key", account_id=ACCOUNT, base_url=emu.url, max_retries=0)
    yield client
    client.close()


@pytest.fixture
def raw(emu):
    """Plain httpx with the key, no retries: for status codes and bodies."""
    with httpx.Client(base_url=emu.url, headers={"authorization": "Bearer fw-test-key"}, timeout=10) as client:
        yield client


def ready_dataset(fw, dataset_id: str, rows: list) -> str:
    """A READY dataset holding ``rows``, made the way the SDK's docs say; its resource name."""
    data = jsonl(rows)
    fw.datasets.create(dataset_id=dataset_id, dataset={"display_name": dataset_id, "example_count": str(len(rows)),
                                                       "user_uploaded": {}, "format": "CHAT"})
    fw.datasets.upload(dataset_id, file=(f"{dataset_id}.jsonl", data))
    fw.datasets.validate_upload(dataset_id, body={})
    return f"accounts/{ACCOUNT}/datasets/{dataset_id}"
