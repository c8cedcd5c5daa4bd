"""Nothing a pull request can edit decides which host receives which secret. Each test plays the attacker who
controls ftops.yaml and the specs (a pull request), with a real secret in the environment (the CI runner's), and
checks what the attacker's server received: nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from tests.conftest import Project, chat_example, write_jsonl
from tests.security.support import CANARY, Recorder


@pytest.fixture
def attacker():
    recorder = Recorder()
    try:
        yield recorder
    finally:
        recorder.close()


def pr_project(tmp_path: Path, providers: dict) -> Project:
    root = tmp_path / "proj"
    write_jsonl(root / "data" / "a.jsonl", [chat_example(i) for i in range(12)])
    (root / "ftops.yaml").write_text(yaml.safe_dump({"project": "pr", "default_provider": "p",
                                                     "providers": providers}), encoding="utf-8")
    (root / "specs").mkdir()
    (root / "specs" / "a.yaml").write_text(yaml.safe_dump({
        "name": "a", "base_model": "gpt-4o-mini-2024-07-18", "suffix": "a", "training_file": "../data/a.jsonl"}))
    return Project(root, None)


@pytest.mark.parametrize("block, variable", [
    ({"type": "openai", "api_key_env": "OPENAI_API_KEY"}, "OPENAI_API_KEY"),  # naming the official key
    ({"type": "openai"}, "OPENAI_API_KEY"),  # the default key, to a base_url the PR chose
    ({"type": "azure-openai"}, "AZURE_OPENAI_API_KEY"),  # Azure's key without naming it
    ({"type": "openai", "api_key_env": "GITHUB_TOKEN"}, "GITHUB_TOKEN"),  # any secret of the runner
])
def test_a_base_url_the_pull_request_chose_receives_no_key(tmp_path, monkeypatch, attacker, block, variable):
    monkeypatch.setenv(variable, CANARY)
    project = pr_project(tmp_path, {"p": {**block, "base_url": attacker.url}})
    plan = project.run("plan")
    assert plan.rc == 0, plan.all
    assert "WARNING p was not contacted" in plan.out and f"binds {variable} to http://127.0.0.1:" in plan.out
    applied = project.run("apply", "--auto-approve")
    assert applied.rc == 1 and "could not be contacted with trusted credentials" in applied.err
    assert attacker.requests == []  # not one request: nothing to see, not even that someone tried
    assert CANARY not in plan.all + applied.all


def test_the_same_endpoint_bound_by_trusted_configuration_gets_its_key(tmp_path, monkeypatch, attacker):
    """The other side of the rule: the workflow (the environment) or a reviewed config file binds the key."""
    monkeypatch.setenv("GATEWAY_KEY", CANARY)
    project = pr_project(tmp_path, {"p": {"type": "openai", "base_url": attacker.url, "api_key_env": "GATEWAY_KEY"}})
    trusted = tmp_path / "base-branch-ftops.yaml"  # what the pull-request workflow writes from the base branch
    trusted.write_text((project.root / "ftops.yaml").read_text())
    assert project.run("--trusted-config", str(trusted), "plan").rc == 0
    assert attacker.saw(f"Bearer {CANARY}")
    attacker.requests.clear()
    monkeypatch.setenv("FTOPS_CREDENTIALS", f"GATEWAY_KEY={attacker.url}")
    assert project.run("plan").rc == 0 and attacker.saw(f"Bearer {CANARY}")


def test_openai_base_url_from_the_environment_binds_openai_api_key_and_nothing_else(tmp_path, monkeypatch, attacker):
    """The README's rule, as the official SDK reads these variables: OPENAI_BASE_URL, set where ftops runs (never
    by the repository), sends OPENAI_API_KEY there, whatever host it names; it binds no other key."""
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    monkeypatch.setenv("OPENAI_BASE_URL", attacker.url)
    project = pr_project(tmp_path, {"p": {"type": "openai"}})
    assert project.run("plan").rc == 0
    assert attacker.saw(f"Bearer {CANARY}")
    attacker.requests.clear()
    monkeypatch.setenv("GITHUB_TOKEN", CANARY)
    other = pr_project(tmp_path / "other", {"p": {"type": "openai", "api_key_env": "GITHUB_TOKEN"}})
    plan = other.run("plan")
    assert plan.rc == 0 and "no trusted configuration binds GITHUB_TOKEN" in plan.out
    assert attacker.requests == []


def test_a_trusted_config_does_not_cover_an_endpoint_the_pull_request_changed(tmp_path, monkeypatch, attacker):
    monkeypatch.setenv("GATEWAY_KEY", CANARY)
    trusted = tmp_path / "base-branch-ftops.yaml"
    trusted.write_text(yaml.safe_dump({"providers": {"p": {"type": "openai", "base_url": "https://gw.example/v1",
                                                           "api_key_env": "GATEWAY_KEY"}}}))
    project = pr_project(tmp_path, {"p": {"type": "openai", "base_url": attacker.url, "api_key_env": "GATEWAY_KEY"}})
    plan = project.run("--trusted-config", str(trusted), "plan")
    assert plan.rc == 0 and "p was not contacted" in plan.out
    assert attacker.requests == []


def test_headers_are_only_ones_ftops_defines(tmp_path, monkeypatch, attacker):
    """0.1's organization_env/project_env let the config send any environment variable as a header."""
    monkeypatch.setenv("GITHUB_TOKEN", CANARY)
    project = pr_project(tmp_path, {"p": {"type": "openai", "base_url": attacker.url, "api_key_env": "K",
                                          "organization_env": "GITHUB_TOKEN"}})
    result = project.run("plan")
    assert result.rc == 1
    assert "providers.p.organization_env: organization_env is no longer supported" in result.err
    assert attacker.requests == [] and CANARY not in result.all


def test_the_org_and_project_headers_go_only_with_a_trusted_key(tmp_path, monkeypatch, attacker):
    monkeypatch.setenv("OPENAI_ORG_ID", "org-canary-1234567")
    monkeypatch.setenv("K", "k-1234567890")
    project = pr_project(tmp_path, {"p": {"type": "openai", "base_url": attacker.url, "api_key_env": "K"}})
    assert project.run("plan").rc == 0
    assert attacker.requests == []


@pytest.mark.parametrize("host", ["127.0.0.1.nip.io", "127.example.com", "localhost.attacker.com", "0.0.0.0",
                                  "[::ffff:127.0.0.1].evil"])
def test_plain_http_is_refused_unless_the_host_really_is_loopback(tmp_path, host):
    project = pr_project(tmp_path, {"p": {"type": "openai", "base_url": f"http://{host}:8080/v1",
                                          "api_key_env": "K"}})
    result = project.run("validate")
    assert result.rc == 1 and "plain http://" in result.err, result.all


@pytest.mark.parametrize("host", ["127.0.0.1", "127.3.4.5", "[::1]", "localhost"])
def test_plain_http_to_loopback_is_allowed(tmp_path, host):
    project = pr_project(tmp_path, {"p": {"type": "openai", "base_url": f"http://{host}:8080/v1",
                                          "api_key_env": "K"}})
    result = project.run("validate")
    assert result.rc == 0, result.all


def test_a_key_with_a_line_break_or_a_non_ascii_character_is_refused_without_showing_it(tmp_path, monkeypatch):
    project = pr_project(tmp_path, {"p": {"type": "openai", "base_url": "https://gw.example/v1", "api_key_env": "K"}})
    monkeypatch.setenv("FTOPS_CREDENTIALS", "K=https://gw.example")
    for bad in (CANARY + "\nX-Injected: yes", CANARY + "é", "Bearer " + CANARY + "\r"):
        monkeypatch.setenv("K", bad)
        result = project.run("plan")
        assert result.rc == 1, result.all
        assert "the value of K contains" in result.err and "(the value is not shown)" in result.err
        assert CANARY not in result.all and "fake-canary" not in result.all


def test_secrets_are_redacted_in_every_spelling():
    from ftops import redact

    secret = "fake-redact-me-0123456789abcdef"
    redact.register(secret)
    import base64
    import json
    from urllib.parse import quote

    spellings = [secret, repr(secret), json.dumps(secret), quote(secret, safe=""),
                 base64.b64encode(f"Bearer {secret}".encode()).decode(), base64.b64encode(secret.encode()).decode()]
    for text in spellings:
        assert "0123456789abcdef" not in redact.redact(f"error: {text} was refused"), text


def test_a_spec_file_linked_from_outside_the_project_is_never_read_or_echoed(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secrets.yaml").write_text("password: hunter2-THE-CONTENT\n")
    project = pr_project(tmp_path, {"p": {"type": "local"}})
    (project.root / "specs" / "evil.yaml").symlink_to(outside / "secrets.yaml")
    result = project.run("validate")
    assert result.rc == 1
    assert "specs/evil.yaml: is outside the project" in result.err
    assert "hunter2" not in result.all and "THE-CONTENT" not in result.all
    (project.root / "specs" / "evil.yaml").unlink()
    config = yaml.safe_load((project.root / "ftops.yaml").read_text())
    config["specs"] = ["specs/*.yaml", "../elsewhere/*.yaml"]
    (project.root / "ftops.yaml").write_text(yaml.safe_dump(config))
    globbed = project.run("validate")
    assert globbed.rc == 1 and "../elsewhere/secrets.yaml: is outside the project" in globbed.err
    assert "hunter2" not in globbed.all


def test_no_secret_of_the_runner_appears_in_any_output_when_a_key_is_rejected(tmp_path, monkeypatch):
    """The canary as the key of a provider that rejects it, through every command's output."""
    from ftops.emulator import EmulatorConfig, start

    with start(EmulatorConfig(state_dir=tmp_path / "emu", api_key="the-right-key")) as emu:
        monkeypatch.setenv("K", CANARY)
        monkeypatch.setenv("FTOPS_CREDENTIALS", f"K={emu.url}")
        project = pr_project(tmp_path, {"p": {"type": "openai", "base_url": emu.url, "api_key_env": "K"}})
        outputs = [project.run(*args).all for args in (
            ("plan",), ("plan", "--format", "json"), ("plan", "--format", "markdown"), ("-vv", "plan"),
            ("apply", "--auto-approve"), ("status",), ("validate",))]
    assert all("status=401" in o for o in outputs[:5]), outputs[0]
    assert not any(CANARY in o or os.environ["K"][3:20] in o for o in outputs)
