"""Shared fixtures: a real emulator on loopback and real projects in temp dirs, driven through the CLI.

Nothing of ftops is patched. Time is injected: the CLI's sleep advances the emulator's clock instead of waiting,
so `apply --wait` follows a job through its whole lifecycle in milliseconds.
"""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from ftops.cli.context import Runtime
from ftops.cli.main import main
from ftops.emulator import EmulatorConfig, start
from ftops.emulator.answers import RECORD_ENV

TEST_KEY_ENV = "FTOPS_TEST_KEY"
TEST_KEY = "test-key-not-a-secret"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path_factory):
    monkeypatch.setenv(TEST_KEY_ENV, TEST_KEY)
    monkeypatch.setenv("FTOPS_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "ftops-cache"))
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID", "FTOPS_TODAY",
                 "NO_COLOR", "FORCE_COLOR", "FTOPS_CREDENTIALS", "FTOPS_TRUSTED_CONFIG"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _answers_match_the_published_specs(monkeypatch, tmp_path_factory):
    """Every answer any emulator gives while a test runs (in this process or a subprocess) is recorded and checked
    against the provider's published OpenAPI document afterwards (tests/published.py); a mismatch fails the test
    that caused it."""
    from tests import published

    directory = tmp_path_factory.mktemp("answers")
    monkeypatch.setenv(RECORD_ENV, str(directory))
    yield
    mismatches = published.check_directory(directory)
    if mismatches:
        shown = "\n".join(mismatches[:20]) + (f"\n... and {len(mismatches) - 20} more" if len(mismatches) > 20 else "")
        pytest.fail(f"the emulator answered what its provider's published API document does not allow:\n{shown}",
                    pytrace=False)


@pytest.fixture
def emulator(tmp_path):
    emu = start(EmulatorConfig(state_dir=tmp_path / "emulator-state", job_duration=10.0))
    try:
        yield emu
    finally:
        emu.stop()


def chat_example(i: int, *, answer: str | None = None) -> dict[str, Any]:
    return {"messages": [
        {"role": "system", "content": "You are a terse assistant."},
        {"role": "user", "content": f"What is {i} plus {i}?"},
        {"role": "assistant", "content": answer or f"{i} plus {i} is {2 * i}."},
    ]}


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@dataclass
class Result:
    rc: int
    out: str
    err: str

    @property
    def all(self) -> str:
        return self.out + self.err


class Project:
    """A real ftops project in a temp dir, pointed at the test's emulator."""

    def __init__(self, root: Path, emu, *, bind: dict[str, str] | None = None):
        self.root = root
        self.emu = emu
        self.sleeps: list[float] = []
        self.bind = dict(bind or {})  # key variable -> URL trusted with it while this project's commands run

    # -- files --
    def write(self, rel: str, text: str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def dataset(self, rel: str, n: int = 12, *, start: int = 0, **kw) -> Path:
        return write_jsonl(self.root / rel, [chat_example(i, **kw) for i in range(start, start + n)])

    def spec(self, name: str, **fields: Any) -> Path:
        body = {"name": name, "base_model": "gpt-4o-mini-2024-07-18", "suffix": name[:40],
                "training_file": f"../data/{name}.jsonl"}
        body.update(fields)
        return self.write(f"specs/{name}.yaml", yaml.safe_dump(body, sort_keys=False))

    def parent_and_child(self) -> None:
        """Spec `child` continues from spec `parent`'s pinned model; each has its own 12 examples."""
        self.dataset("data/parent.jsonl", 12)
        self.dataset("data/child.jsonl", 12, start=50)
        self.spec("parent")
        self.spec("child", base_model={"spec": "parent"})

    def lock_text(self) -> str:
        return (self.root / "ftops.lock").read_text(encoding="utf-8")

    def lock(self) -> dict[str, Any]:
        path = self.root / "ftops.lock"
        return yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}

    def model(self, name: str) -> str | None:
        return ((self.lock().get("models") or {}).get(name) or {}).get("model")

    # -- the CLI --
    def run(self, *args: str, runtime: Runtime | None = None) -> Result:
        import os

        out, err = io.StringIO(), io.StringIO()
        runtime = runtime or Runtime(sleep=self.fake_sleep, poll_interval=5.0)
        saved = os.environ.get("FTOPS_CREDENTIALS")
        if self.bind:  # as a CI workflow would: the environment, not the repository, says where keys may go
            os.environ["FTOPS_CREDENTIALS"] = " ".join([saved or ""] + [f"{k}={v}" for k, v in self.bind.items()])
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                rc = main(["-C", str(self.root), *args], runtime=runtime)
        finally:
            if self.bind:
                if saved is None:
                    os.environ.pop("FTOPS_CREDENTIALS", None)
                else:
                    os.environ["FTOPS_CREDENTIALS"] = saved
        return Result(rc, out.getvalue(), err.getvalue())

    def fake_sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)

    # -- the emulator's admin API --
    def admin(self, method: str, path: str, body: dict | None = None) -> Any:
        response = httpx.request(method, f"{self.emu.admin_url}/{path.lstrip('/')}", json=body, timeout=30)
        response.raise_for_status()
        return response.json()

    @staticmethod
    def admin_of(emu, path: str, body: dict | None = None) -> Any:
        """The admin API of another emulator than the project's own (GET without a body, else POST)."""
        method = "POST" if body is not None else "GET"
        response = httpx.request(method, f"{emu.admin_url}/{path.lstrip('/')}", json=body, timeout=30)
        response.raise_for_status()
        return response.json()

    def advance(self, seconds: float) -> None:
        self.admin("POST", "clock", {"advance": seconds})

    def finish_jobs(self) -> None:
        self.advance(3600)

    def jobs(self) -> list[dict[str, Any]]:
        return self.admin("GET", "state")["jobs"]


@pytest.fixture
def project(tmp_path, emulator, monkeypatch) -> Project:
    monkeypatch.setenv("FTOPS_CREDENTIALS", f"{TEST_KEY_ENV}={emulator.url}")  # the trusted binding of the key
    root = tmp_path / "proj"
    root.mkdir()
    (root / "ftops.yaml").write_text(yaml.safe_dump({
        "project": "testproj",
        "default_provider": "emu",
        "providers": {"emu": {"type": "openai", "base_url": emulator.url, "api_key_env": TEST_KEY_ENV,
                              "max_retries": 3}},
    }, sort_keys=False), encoding="utf-8")
    return Project(root, emulator)


def bind_key(monkeypatch, variable: str, url: str) -> None:
    """Trust ``url`` with the key in ``variable`` (FTOPS_CREDENTIALS, as a CI workflow or a shell would)."""
    import os

    current = os.environ.get("FTOPS_CREDENTIALS", "")
    monkeypatch.setenv("FTOPS_CREDENTIALS", f"{current} {variable}={url}".strip())


def openai_client(name: str, base_url: str, **kwargs: Any):
    """The real OpenAI client for ``base_url``, with ``kwargs`` (transport, policy) passed to its HTTP client."""
    from ftops.config import ProviderConfig
    from ftops.providers.openai import KIND

    return KIND.open(ProviderConfig(name, "openai", {"base_url": base_url}), None, key="test-key", **kwargs)


@pytest.fixture
def no_terminal(monkeypatch):
    """stdin that is not a terminal, as in CI."""
    monkeypatch.setattr("sys.stdin", io.StringIO(""))


class Terminal(io.StringIO):
    """stdin that is a terminal, with what the user types (``Terminal("n\\n")`` answers no to a prompt)."""

    def isatty(self) -> bool:
        return True
