"""Specs, ftops.yaml, ftops.lock, datasets and provider answers are untrusted input: whatever they hold, the only
outcomes are success or an ftops error naming the file (exit 1), never a traceback (exit 3). YAML bombs and huge
files are refused or bounded; paths stay inside the project unless allow_paths says otherwise.
(Dataset paths given as absolute or via a symlink are covered in tests/core/test_spec_errors.py.)"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ftops.errors import ProviderError
from ftops.providers.http import RetryPolicy
from tests.conftest import Project, chat_example, openai_client, write_jsonl

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))

# -- a project to drop untrusted files into ---------------------------------------------------------------------
GOOD_CONFIG = "project: untrusted\ndefault_provider: emu\nproviders:\n  emu: {type: openai, base_url: 'http://127.0.0.1:9/v1', api_key_env: FTOPS_TEST_KEY}\n"
GOOD_SPEC = {"name": "a", "base_model": "gpt-4o-mini-2024-07-18", "suffix": "a", "training_file": "../data/a.jsonl"}


def fresh_project(tmp: Path) -> Project:
    root = tmp / "proj"
    write_jsonl(root / "data" / "a.jsonl", [chat_example(i) for i in range(12)])
    (root / "ftops.yaml").write_text(GOOD_CONFIG, encoding="utf-8")
    (root / "specs").mkdir()
    (root / "specs" / "a.yaml").write_text(yaml.safe_dump(GOOD_SPEC), encoding="utf-8")
    return Project(root, None)


def assert_ftops_outcome(project: Project, display: str, *commands: tuple[str, ...]) -> None:
    for args in commands or (("validate",), ("plan", "--no-refresh")):
        result = project.run(*args)
        assert result.rc in (0, 1, 2), (args, result.all)
        assert "Traceback" not in result.all and "hit a bug" not in result.all, result.all
        if result.rc == 1:
            assert display in result.all, (display, result.all)


# -- strategies ---------------------------------------------------------------------------------------------
TOKENS = ["name:", "base_model:", "training_file:", "method:", "type:", "models:", "version: 1", "providers:",
          "specs:", "lockfile:", " ", "  ", "\n", "- ", "{", "}", "[", "]", ",", ":", "&a ", "*a", "<<: *a", "? ",
          "!!python/object/apply:os.system ['true']", "!!binary aGk=", "!!set {a}", "!!timestamp 2026-01-01",
          "'", '"', "#", "---\n", "...\n", "|\n  x", ">", "\t", "%YAML 1.1\n", "a", "1", "-1.5e9", "null", "~",
          "true", ".inf", "0x1F", "\\u0000", "\u2028", "\x85", "../data/a.jsonl", "gpt-4o-mini-2024-07-18"]
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=30))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)), max_leaves=20)
yaml_texts = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(TOKENS), max_size=40).map("".join),
    json_values.map(lambda v: yaml.safe_dump(v, allow_unicode=True)),
)

SPEC_VALUES = {
    "name": st.one_of(st.sampled_from(["a", "b", "", "A B", "x" * 200]), json_values),
    "provider": st.one_of(st.sampled_from(["emu", "local", "nope"]), json_values),
    "base_model": st.one_of(st.sampled_from(["gpt-4o-mini-2024-07-18", "nope", ""]),
                            st.fixed_dictionaries({"spec": st.sampled_from(["a", "b", "zz"])}), json_values),
    "suffix": st.one_of(st.sampled_from(["ok", "", "x" * 70, "bad suffix!"]), json_values),
    "training_file": st.one_of(st.sampled_from(["../data/a.jsonl", "../data/none.jsonl", "../../etc/passwd",
                                                "/etc/passwd", "", ".", "..", "../data", "\x00"]), json_values),
    "validation_file": st.one_of(st.sampled_from(["../data/a.jsonl", "../ftops.yaml"]), json_values),
    "method": st.one_of(st.fixed_dictionaries({"type": st.sampled_from(["supervised", "dpo", "reinforcement", "x"])},
                                              optional={"hyperparameters": json_values,
                                                        "grader": json_values}), json_values),
    "seed": st.one_of(st.integers(), json_values),
    "metadata": json_values, "integrations": json_values,
    "protect": st.one_of(st.booleans(), json_values),
    "budget_usd": st.one_of(st.floats(), json_values),
}
spec_dicts = st.fixed_dictionaries({}, optional={**SPEC_VALUES, "surprise": json_values})


# -- arbitrary YAML and spec dicts --------------------------------------------------------------------------------
@SETTINGS
@given(text=yaml_texts, where=st.sampled_from(["specs/a.yaml", "ftops.yaml", "ftops.lock"]))
@example(text="name: !!timestamp x\n", where="specs/a.yaml")  # explicit tags whose value does not fit them
@example(text="version: !!int one\n", where="ftops.lock")
@example(text="specs: !!set [a]\n", where="ftops.yaml")
@example(text="protect: !!bool maybe\n", where="specs/a.yaml")
def test_any_yaml_text_in_a_spec_the_config_or_the_lockfile_is_an_error_naming_the_file(text, where):
    with tempfile.TemporaryDirectory() as tmp:
        project = fresh_project(Path(tmp))
        (project.root / where).write_text(text, encoding="utf-8", errors="surrogatepass")
        assert_ftops_outcome(project, where)
        if where == "ftops.lock":
            assert_ftops_outcome(project, where, ("status",), ("output",))


@SETTINGS
@given(spec=spec_dicts, as_json=st.booleans())
def test_any_spec_mapping_is_accepted_or_refused_with_its_file(spec, as_json):
    with tempfile.TemporaryDirectory() as tmp:
        project = fresh_project(Path(tmp))
        text = json.dumps(spec) if as_json else yaml.safe_dump(spec, allow_unicode=True)
        (project.root / "specs" / "b.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
        assert_ftops_outcome(project, "specs/b.yaml")


jsonl_lines = st.one_of(
    json_values.map(json.dumps),
    st.builds(lambda rows: json.dumps({"messages": rows}), st.lists(st.fixed_dictionaries(
        {"role": st.sampled_from(["system", "user", "assistant", "tool", "x"])},
        optional={"content": json_values, "weight": json_values}), max_size=4)),
    st.text(max_size=60).map(lambda t: t.replace("\n", " ")),
)


@settings(SETTINGS, max_examples=25)
@given(lines=st.lists(jsonl_lines, max_size=12))
def test_any_jsonl_lines_as_a_training_file_give_errors_with_file_and_line(lines):
    with tempfile.TemporaryDirectory() as tmp:
        project = fresh_project(Path(tmp))
        (project.root / "data" / "a.jsonl").write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
        assert_ftops_outcome(project, "data/a.jsonl", ("data", "check", "data/a.jsonl", "--json"))
        result = project.run("validate")
        assert result.rc in (0, 1) and "Traceback" not in result.all, result.all
        errors = [line for line in result.err.splitlines() if line.startswith("error: data/a.jsonl")]
        assert (result.rc == 1) == bool(errors), result.all
        assert all(line.startswith("error: data/a.jsonl:") for line in errors), errors  # file:line


# -- provider answers ------------------------------------------------------------------------------------------
def provider_answering(answers: dict[str, Any]):
    """The real provider over httpx's MockTransport (the HTTP client's transport seam), answering 200 with
    whatever JSON ``answers`` maps the request path to."""

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/v1/")
        key = next((k for k in answers if path.startswith(k)), None)
        body = json.dumps(answers.get(key) if key else {"data": []})  # NaN and Infinity too, as Python parses them
        return httpx.Response(200, content=body.encode(), headers={"content-type": "application/json"})

    return openai_client("weird", "http://weird.invalid/v1", transport=httpx.MockTransport(handle),
                         policy=RetryPolicy(max_retries=0, sleep=lambda s: None))


@SETTINGS
@given(answer=json_values, path=st.sampled_from(["models", "fine_tuning/jobs", "files"]))
def test_any_json_a_provider_answers_is_read_or_refused_as_a_provider_error(answer, path):
    from ftops.launch import LaunchKey
    from ftops.providers.base import TrainingRequest

    provider = provider_answering({path: answer})
    key = LaunchKey("p", "s", "v2:sha256:" + "0" * 64)
    calls = [lambda: provider.list_models(), lambda: list(provider.list_jobs("p", limit=5)),
             lambda: provider.get_job("ftjob-1"), lambda: provider.get_model("m"),
             lambda: provider.find_jobs(key), lambda: provider.list_events("ftjob-1"),
             lambda: provider.create_job(TrainingRequest(launch=key, base_model="m", method="supervised",
                                                         training_file="f", validation_file=None))]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "a.jsonl"
        data.write_text("{}\n")
        calls.append(lambda: provider.stage_file(data, sha256=hashlib.sha256(b"{}\n").hexdigest()))
        for call in calls:
            try:
                call()
            except ProviderError:
                pass
    provider.close()


@pytest.mark.parametrize("answers, message", [
    ({"models": {"data": [{"no_id": 1}]}}, "a model has no string 'id'"),
    ({"models": [1, 2]}, "the model list is an array, not a JSON object"),
    ({"models": {"data": "abc"}}, "'data' of the model list is not a list"),
    ({"fine_tuning/jobs": {"data": [{"status": "running"}]}}, "a fine-tuning job has no string 'id'"),
    ({"fine_tuning/jobs": None}, "the fine-tuning job list is null"),
])
def test_a_provider_answering_nonsense_is_a_user_error_through_the_cli(tmp_path, answers, message):
    """A real HTTP server that is not an OpenAI-compatible API (a misconfigured base_url, a captive proxy)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    import threading

    models = {"data": [{"id": "gpt-4o-mini-2024-07-18"}]}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            path = self.path.split("?")[0].removeprefix("/v1/")
            key = next((k for k in answers if path.startswith(k)), None)
            body = json.dumps(answers[key] if key else models if path == "models" else {"data": []}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        project = fresh_project(tmp_path)
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        (project.root / "ftops.yaml").write_text(GOOD_CONFIG.replace("http://127.0.0.1:9/v1", url))
        project.bind = {"FTOPS_TEST_KEY": url}
        result = project.run("plan")
    finally:
        server.shutdown()
        server.server_close()
    assert result.rc == 1, result.all
    assert f"error: emu: unexpected answer: {message}" in result.err and "hint: check the provider's base_url" in \
        result.err


# -- bombs and huge files (real processes, bounded in memory and time) ------------------------------------------
BOMB = "".join(f"{c}: &{c} [{', '.join([f'*{p}'] * 9) if p else ', '.join(['lol'] * 9)}]\n"
               for p, c in zip([None, *"abcdefgh"], "abcdefghi"))


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (768 << 20, 768 << 20))


def run_bounded(root: Path, *args: str, timeout: float = 20) -> tuple[int, str, float]:
    started = time.monotonic()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    try:
        done = subprocess.run([sys.executable, "-m", "ftops", "-C", str(root), *args], capture_output=True,
                              text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL, preexec_fn=_limited)
    except subprocess.TimeoutExpired:
        return -1, f"still running after {timeout}s", time.monotonic() - started
    return done.returncode, done.stdout + done.stderr, time.monotonic() - started


@pytest.mark.parametrize("where", ["specs/a.yaml", "ftops.yaml", "ftops.lock"])
def test_a_billion_laughs_yaml_is_refused_quickly(tmp_path, where):
    project = fresh_project(tmp_path)
    (project.root / where).write_text(BOMB, encoding="utf-8")
    rc, output, took = run_bounded(project.root, "validate", timeout=6)
    assert rc == 1 and where in output and "Traceback" not in output, (rc, output[-1500:])
    assert took < 6


def test_huge_and_deeply_nested_yaml_is_refused_with_the_file_named(tmp_path):
    project = fresh_project(tmp_path)
    (project.root / "specs" / "a.yaml").write_text("name: a\n# " + "x" * (9 * 1024 * 1024) + "\n")
    result = project.run("validate")
    assert result.rc == 1 and "specs/a.yaml" in result.err and "are refused" in result.err
    (project.root / "specs" / "a.yaml").write_text("a: " + "[" * 50_000 + "]" * 50_000 + "\n")
    result = project.run("validate")
    assert result.rc == 1 and "specs/a.yaml" in result.err, result.all


# -- paths stay inside the project -----------------------------------------------------------------------------
def test_spec_globs_and_symlinked_spec_directories_do_not_reach_outside_the_project(tmp_path):
    project = fresh_project(tmp_path)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "evil.yaml").write_text(yaml.safe_dump({**GOOD_SPEC, "name": "evil"}))
    (project.root / "ftops.yaml").write_text(GOOD_CONFIG + "specs: ['specs/*.yaml', '../elsewhere/*.yaml']\n")
    result = project.run("validate")
    assert result.rc == 1 and "outside the project" in result.err, result.all
    (project.root / "ftops.yaml").write_text(GOOD_CONFIG)
    os.symlink(outside, project.root / "specs" / "linked")
    (project.root / "ftops.yaml").write_text(GOOD_CONFIG + "specs: ['specs/**/*.yaml']\n")
    result = project.run("validate")
    assert result.rc == 1 and "outside the project" in result.err, result.all


def test_the_lockfile_path_cannot_point_outside_the_project(tmp_path):
    project = fresh_project(tmp_path)
    (project.root / "ftops.yaml").write_text(GOOD_CONFIG + "lockfile: ../stolen.lock\n")
    result = project.run("validate")
    assert result.rc == 1 and "ftops.yaml" in result.err and "outside the project" in result.err, result.all


def test_allow_paths_admits_a_dataset_directory_outside_the_project(tmp_path):
    project = fresh_project(tmp_path)
    shared = tmp_path / "shared-data"
    write_jsonl(shared / "b.jsonl", [chat_example(i) for i in range(12)])
    (project.root / "specs" / "b.yaml").write_text(yaml.safe_dump(
        {**GOOD_SPEC, "name": "b", "training_file": "../../shared-data/b.jsonl"}))
    assert "resolves outside the project" in project.run("validate").err
    (project.root / "ftops.yaml").write_text(GOOD_CONFIG + "allow_paths: ['../shared-data']\n")
    result = project.run("validate")
    assert result.rc == 0, result.all
