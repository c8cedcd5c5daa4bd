"""Fixtures for the emulator tests: a real emulator on loopback, the official SDK pointed at it (every JSON
response validated against the OpenAPI subset), an admin client and a raw httpx client."""

from __future__ import annotations

import httpx
import pytest

from ftops.emulator import EmulatorConfig, start

from .support import Admin, sdk


@pytest.fixture
def emu(tmp_path):
    with start(EmulatorConfig(state_dir=tmp_path / "state", job_duration=3.0)) as emulator:
        yield emulator


@pytest.fixture
def admin(emu):
    client = Admin(emu)
    yield client
    client.http.close()


@pytest.fixture
def client(emu):
    with sdk(emu) as c:
        yield c


@pytest.fixture
def raw(emu):
    """Plain httpx against /v1 with auth, no retries: for status codes, headers and envelopes."""
    with httpx.Client(base_url=emu.url, headers={"authorization": "Bearer sk-test"}, timeout=10) as c:
        yield c
