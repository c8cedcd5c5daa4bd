"""`ftops init`: a new project that validates, plans and applies at once, without overwriting anything."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from ftops.cli.context import Runtime
from ftops.render.markdown import MARKER
from ftops.schema import load_schema
from tests.conftest import Terminal

from .support import cli

BIN = Path(sys.executable).parent
KNOWN_TYPES = set(load_schema("config")["properties"]["providers"]["additionalProperties"]["properties"]["type"]
                  ["enum"])
EXPECTED = {
    "local": ({"type": "local"}, "gpt-4o-mini-2024-07-18"),
    "openai": ({"type": "openai"}, "gpt-4o-mini-2024-07-18"),
    "azure-openai": ({"type": "azure-openai", "base_url": "https://RESOURCE.openai.azure.com/openai/v1",
                      "api_key_env": "AZURE_OPENAI_API_KEY"}, "gpt-4o-mini-2024-07-18"),
    "together": ({"type": "together"}, "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"),
    "fireworks": ({"type": "fireworks", "account": "YOUR_ACCOUNT"}, "accounts/fireworks/models/qwen3-8b"),
    "ray": ({"type": "ray", "address": "http://127.0.0.1:8265", "artifacts": "file:///tmp/ftops-artifacts",
             "trainer": "trl"}, "Qwen/Qwen2.5-0.5B-Instruct"),
}


def statuses(output: str) -> dict[str, str]:
    """`  created  ftops.yaml` lines -> {"ftops.yaml": "created"}."""
    found = {}
    for line in output.splitlines():
        for status in ("created", "kept (exists)", "updated (added .ftops/)", "kept (ignores .ftops/ already)"):
            if line.startswith(f"  {status} "):
                found[line.split()[-1]] = status
    return found


def test_a_new_local_project_validates_plans_and_applies_at_once(tmp_path, no_terminal):
    result = cli(tmp_path, "init", "first-hour")

    root = tmp_path / "first-hour"
    assert result.rc == 0, result.all
    assert statuses(result.out) == {p: "created" for p in (
        "ftops.yaml", "specs/example.yaml", "data/example/train.jsonl", "data/example/valid.jsonl",
        "schemas/spec.schema.json", "schemas/config.schema.json", ".gitignore")}
    assert "cd first-hour" in result.out and "ftops apply --auto-approve --wait" in result.out
    config = yaml.safe_load((root / "ftops.yaml").read_text())
    assert config["project"] == "first-hour" and config["default_provider"] == "local"
    assert config["providers"] == {"local": {"type": "local"}}
    assert (root / ".gitignore").read_text() == ".ftops/\n"

    validated = cli(root, "validate")
    assert validated.rc == 0, validated.all
    assert "OK: 1 spec(s)" in validated.out and "error" not in validated.err
    applied = cli(root, "apply", "--auto-approve", "--wait", runtime=Runtime(poll_interval=0.2))
    assert applied.rc == 0, applied.all
    model = cli(root, "output", "example").out.strip()
    assert model.startswith("ft:gpt-4o-mini-2024-07-18:") and ":example:" in model
    assert cli(root, "plan", "--detailed-exitcode").rc == 0  # no changes left


def test_the_example_datasets_are_valid_chat_files_that_share_no_example(tmp_path):
    cli(tmp_path, "init")

    train = [json.loads(line) for line in (tmp_path / "data/example/train.jsonl").read_text().splitlines()]
    valid = [json.loads(line) for line in (tmp_path / "data/example/valid.jsonl").read_text().splitlines()]
    assert len(train) >= 10 and len(valid) >= 1
    assert all(e["messages"][-1]["role"] == "assistant" for e in train + valid)
    assert not {json.dumps(e) for e in train} & {json.dumps(e) for e in valid}
    checked = cli(tmp_path, "data", "check", "data/example/train.jsonl", "--validation", "data/example/valid.jsonl",
                  "--model", "gpt-4o-mini-2024-07-18")
    assert checked.rc == 0 and "2 file(s) OK." in checked.out, checked.all
    assert "shares examples" not in checked.out


@pytest.mark.parametrize("provider", ["openai", "azure-openai"])
def test_hosted_provider_projects_validate_without_a_key(tmp_path, provider, monkeypatch):
    monkeypatch.delenv("AZURE_OPENAI_API_KEY", raising=False)

    result = cli(tmp_path, "init", "--provider", provider)

    assert result.rc == 0, result.all
    block, base_model = EXPECTED[provider]
    config = yaml.safe_load((tmp_path / "ftops.yaml").read_text())
    assert config["providers"] == {provider: block} and config["default_provider"] == provider
    assert yaml.safe_load((tmp_path / "specs/example.yaml").read_text())["base_model"] == base_model
    assert f"export {block.get('api_key_env', 'OPENAI_API_KEY')}=..." in result.out
    validated = cli(tmp_path, "validate")
    assert validated.rc == 0, validated.all


@pytest.mark.parametrize("provider", ["together", "fireworks", "ray"])
def test_open_weight_provider_projects_validate_and_plan_offline_at_once(tmp_path, provider, monkeypatch):
    for variable in ("TOGETHER_API_KEY", "FIREWORKS_API_KEY"):
        monkeypatch.delenv(variable, raising=False)
    result = cli(tmp_path, "init", "--provider", provider)

    assert result.rc == 0, result.all
    block, base_model = EXPECTED[provider]
    config = yaml.safe_load((tmp_path / "ftops.yaml").read_text())
    assert config == {"project": tmp_path.name.lower(), "specs": ["specs/**/*.yaml"], "lockfile": "ftops.lock",
                      "default_provider": provider, "providers": {provider: block}}
    spec = yaml.safe_load((tmp_path / "specs/example.yaml").read_text())
    assert spec["base_model"] == base_model
    jsonschema.validate(spec, load_schema("spec"))
    assert block["type"] in KNOWN_TYPES and "yet" not in result.err
    validated = cli(tmp_path, "validate")
    assert validated.rc == 0, validated.all
    planned = cli(tmp_path, "plan", "--no-refresh")
    assert planned.rc == 0 and "1 to create" in planned.out, planned.all


def test_nothing_is_overwritten_and_each_kept_file_is_reported(tmp_path):
    (tmp_path / "ftops.yaml").write_text("default_provider: openai\n")
    (tmp_path / "data/example").mkdir(parents=True)
    (tmp_path / "data/example/train.jsonl").write_text("mine\n")

    result = cli(tmp_path, "init", "--provider", "local")

    assert result.rc == 0, result.all
    found = statuses(result.out)
    assert found["ftops.yaml"] == found["data/example/train.jsonl"] == "kept (exists)"
    assert found["specs/example.yaml"] == found["data/example/valid.jsonl"] == "created"
    assert (tmp_path / "ftops.yaml").read_text() == "default_provider: openai\n"
    assert (tmp_path / "data/example/train.jsonl").read_text() == "mine\n"
    assert "ftops.yaml was there already" in result.out

    again = cli(tmp_path, "init", "--provider", "local", "--github")
    assert set(statuses(again.out).values()) == {"kept (exists)", "created", "kept (ignores .ftops/ already)"}
    assert statuses(again.out)[".github/workflows/ftops-plan.yml"] == "created"


@pytest.mark.parametrize("before, after", [
    ("node_modules", "node_modules\n.ftops/\n"),
    ("node_modules\n", "node_modules\n.ftops/\n"),
    ("dist/\r\n", "dist/\r\n.ftops/\r\n"),
    ("", ".ftops/\n"),
    ("build/\n/.ftops\n", "build/\n/.ftops\n"),
])
def test_gitignore_gets_one_ftops_line_and_keeps_its_line_endings(tmp_path, before, after):
    (tmp_path / ".gitignore").write_bytes(before.encode())

    cli(tmp_path, "init")
    cli(tmp_path, "init")

    assert (tmp_path / ".gitignore").read_bytes() == after.encode()


def test_the_project_name_comes_from_the_directory(tmp_path):
    root = tmp_path / "My Fine Tunes (2027)!"

    assert cli(tmp_path, "init", root.name).rc == 0

    assert yaml.safe_load((root / "ftops.yaml").read_text())["project"] == "my-fine-tunes-2027"
    assert cli(root, "validate").rc == 0


def test_editors_find_the_spec_schema_in_the_new_project(tmp_path):
    cli(tmp_path, "init")

    spec_file = tmp_path / "specs/example.yaml"
    first = spec_file.read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../schemas/spec.schema.json"
    schema_path = (spec_file.parent / first.split("$schema=")[1]).resolve()
    assert json.loads(schema_path.read_text()) == load_schema("spec")
    config_first = (tmp_path / "ftops.yaml").read_text().splitlines()[0]
    assert json.loads((tmp_path / config_first.split("$schema=")[1]).read_text()) == load_schema("config")
    jsonschema.validate(yaml.safe_load(spec_file.read_text()), json.loads(schema_path.read_text()))


def test_with_a_key_on_a_terminal_init_points_at_importing_existing_fine_tunes(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "fake-not-a-real-key")
    monkeypatch.setattr("sys.stdin", Terminal(""))
    on_terminal = cli(tmp_path / "a", "init", ".", "--provider", "openai")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    in_ci = cli(tmp_path / "b", "init", ".", "--provider", "openai")

    assert "run `ftops jobs --all`" in on_terminal.out and "ftops import NAME JOB_ID" in on_terminal.out
    assert "ftops jobs" not in in_ci.out
    assert "fake-not-a-real-key" not in on_terminal.all
    assert "export OPENAI_API_KEY" not in on_terminal.out  # it is set already


def test_init_onto_a_file_is_a_clear_error(tmp_path):
    (tmp_path / "taken").write_text("")

    result = cli(tmp_path, "init", "taken")

    assert result.rc == 1 and "exists and is not a directory" in result.err and "Traceback" not in result.all


def _tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(BIN))
    assert found, f"{name} is not installed (it is in the test extra)"
    return found


@pytest.mark.parametrize("provider", ["openai", "azure-openai", "local"])
def test_github_workflows_pass_actionlint_with_shellcheck(tmp_path, provider):
    assert cli(tmp_path, "init", "--provider", provider, "--github").rc == 0
    workflows = sorted((tmp_path / ".github/workflows").glob("*.yml"))
    assert [w.name for w in workflows] == ["ftops-apply.yml", "ftops-plan.yml"]

    result = subprocess.run([_tool("actionlint"), "-no-color", f"-shellcheck={_tool('shellcheck')}",
                             *map(str, workflows)], cwd=tmp_path, capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stdout + result.stderr
    plan = yaml.safe_load(workflows[1].read_text())
    assert f"const marker = '{MARKER}';" in workflows[1].read_text()
    steps = plan["jobs"]["plan"]["steps"]
    assert all(s["uses"] == "ftops/ftops@v1" for s in steps if "ftops" in s.get("uses", "").split("@")[0])
    secrets = [v for s in steps for v in (s.get("env") or {}).values() if "secrets." in str(v)]
    assert all(v.startswith("${{ env.FROM_FORK == 'false' && secrets.") for v in secrets)
    assert bool(secrets) == (provider != "local")
    apply = yaml.safe_load(workflows[0].read_text())
    assert apply["concurrency"]["cancel-in-progress"] is False


def test_apply_workflow_shell_passes_shellcheck_on_its_own(tmp_path):
    cli(tmp_path, "init", "--provider", "openai", "--github")
    apply = yaml.safe_load((tmp_path / ".github/workflows/ftops-apply.yml").read_text())

    for step in (s for s in apply["jobs"]["apply"]["steps"] if "run" in s):
        result = subprocess.run([_tool("shellcheck"), "-s", "bash", "-"], input=step["run"], capture_output=True,
                                text=True)
        assert result.returncode == 0, result.stdout


def test_init_offers_every_registered_provider_type():
    from ftops.providers.registry import types
    from ftops.scaffold import PROVIDERS

    assert set(PROVIDERS) == set(types())
