"""What a command imports is part of its cost in CI: `ftops --help` and `ftops status` must not pay for schema,
HTTP or tokenizer libraries they do not use (issue 14)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

HEAVY = ("jsonschema", "httpx", "pydantic", "deepdiff", "tiktoken", "werkzeug", "ruamel")
WORKSPACE = ("ftops.workspace", "ftops.plan", "ftops.apply")  # a command's own work, loaded when it runs
PROBE = """
import sys
from ftops.cli.main import main
code = main(sys.argv[1:])
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(%r))
print("IMPORTED", *heavy, file=sys.stderr)
print("FTOPS", *sorted(set(sys.modules) & set(%r)), file=sys.stderr)
sys.exit(code)
""" % (HEAVY, WORKSPACE)


def imported(*args: str) -> tuple[int, list[str]]:
    result = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120)
    line = [x for x in result.stderr.splitlines() if x.startswith("IMPORTED")]
    assert line, result.stderr
    return result.returncode, line[-1].split()[1:]


def test_help_imports_no_schema_http_or_tokenizer_library():
    rc, heavy = imported("--help")
    assert rc == 0 and heavy == []


def test_help_loads_no_command_s_workspace_plan_or_apply():
    result = subprocess.run([sys.executable, "-c", PROBE, "--help"], capture_output=True, text=True, timeout=120)
    line = [x for x in result.stderr.splitlines() if x.startswith("FTOPS")]
    assert result.returncode == 0 and line == ["FTOPS"], result.stderr


def test_status_imports_jsonschema_only_until_the_documents_are_known_valid(tmp_path: Path):
    root = tmp_path / "proj"
    (root / "specs").mkdir(parents=True)
    (root / "ftops.yaml").write_text(yaml.safe_dump({"project": "p", "default_provider": "local"}))
    (root / "ftops.lock").write_text(yaml.safe_dump({"version": 2, "project": "p", "models": {}}))
    rc, first = imported("-C", str(root), "status")
    assert rc == 0 and first == ["jsonschema"]  # validates ftops.yaml and ftops.lock once
    rc, second = imported("-C", str(root), "status")
    assert rc == 0 and second == []  # the same text again: known valid, nothing heavy imported
    (root / "ftops.yaml").write_text(yaml.safe_dump({"project": "p", "default_provider": "local",
                                                     "warn_days": 30}))
    rc, edited = imported("-C", str(root), "status")
    assert rc == 0 and edited == ["jsonschema"]  # an edited file is validated again
