"""No traceback for any user input: each case is a clear error naming the file, line and key, or the right
behaviour; lists a provider answers are bounded."""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Project, chat_example, write_jsonl


def clean(result) -> None:
    assert result.rc in (0, 1, 2), result.all
    assert "Traceback" not in result.all and "hit a bug" not in result.all, result.all


@pytest.mark.parametrize("value, message", [
    ("../data/loop.jsonl", "is a symbolic link loop"),
    ("../data/a\x00.jsonl", "the path contains a NUL byte"),
    ("x" * 5000, "characters long; ftops refuses paths over 1024"),
    ("../data", "data is a directory, not a file"),
    ("../data/fifo", "data/fifo is not a regular file (a FIFO, socket or device)"),
    ("../" + "y" * 300 + ".jsonl", "(File name too long)"),
])
def test_a_bad_training_file_path_is_an_error_on_its_line(project, value, message):
    project.dataset("data/a.jsonl", 12)
    os.symlink("loop.jsonl", project.root / "data" / "loop.jsonl")
    os.mkfifo(project.root / "data" / "fifo")
    project.write("specs/a.yaml", f"name: a\nbase_model: gpt-4o-mini-2024-07-18\ntraining_file: {json.dumps(value)}\n")
    result = project.run("validate")
    clean(result)
    assert result.rc == 1 and "specs/a.yaml:3: training_file:" in result.err and message in result.err, result.err


@pytest.mark.parametrize("field, value, key", [
    ("method", {"type": "supervised", "hyperparameters": {"n_epochs": float("nan")}},
     "method.hyperparameters.n_epochs"),
    ("method", {"type": "dpo", "hyperparameters": {"beta": float("inf")}}, "method.hyperparameters.beta"),
    ("budget_usd", float("inf"), "budget_usd"),
    ("budget_usd", float("nan"), "budget_usd"),
])
def test_non_finite_numbers_are_refused_before_anything_is_uploaded(project, field, value, key):
    project.dataset("data/a.jsonl", 12)
    project.spec("a", **{field: value})
    result = project.run("apply", "--auto-approve")
    clean(result)
    assert result.rc == 1 and f"{key}: must be a finite number" in result.err, result.all
    assert project.admin("GET", "state")["files"] == []


def test_a_budget_of_nan_in_ftops_yaml_is_refused_not_skipped(project):
    project.write("ftops.yaml", project.root.joinpath("ftops.yaml").read_text() + "budget_usd: .nan\n")
    project.dataset("data/a.jsonl", 12)
    project.spec("a")
    result = project.run("plan")
    clean(result)
    assert result.rc == 1 and "budget_usd: must be a finite number" in result.err


def test_a_dataset_nested_a_thousand_deep_is_a_dataset_error(project):
    nested = "[" * 1000 + '"leaf"' + "]" * 1000  # written as text: json.dumps itself stops at this depth
    deep = ('{"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}], "extra": '
            + nested + "}")
    rows = [json.dumps(chat_example(i)) for i in range(12)] + [deep, '{"messages": ' + nested + "}"]
    project.write("data/a.jsonl", "\n".join(rows) + "\n")
    project.spec("a")
    for args in (("validate",), ("plan",), ("data", "check", "data/a.jsonl")):
        result = project.run(*args)
        clean(result)
        assert result.rc == 1 and "data/a.jsonl:14" in result.all, result.all


@pytest.mark.parametrize("option", ["--lock-timeout", "--wait-timeout"])
@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_timeouts_must_be_numbers_of_seconds(project, option, value):
    project.dataset("data/a.jsonl", 12)
    project.spec("a")
    result = project.run("apply", "--auto-approve", option, value)
    clean(result)
    assert result.rc == 1 and "is not a number of seconds" in result.all


@pytest.mark.parametrize("text, line, shown", [
    ("name: a\n1: x\n", 2, "keys must be text, but '1' reads as a number"),
    ("name: a\nseed: !!int one\n", 2, "seed: YAML value 'one' cannot be read as int"),
    ("name: a\nbase_model: m\ntraining_file: x.jsonl\nmetadata: {2: x}\n", 4, "keys must be text, but '2'"),
    ("name: a\nbase_model: m\ntraining_file: x.jsonl\nyes: 1\n", 4, "reads as true/false"),
])
def test_yaml_problems_name_the_line_and_key(project, text, line, shown):
    project.write("specs/a.yaml", text)
    result = project.run("validate")
    clean(result)
    assert result.rc == 1 and f"specs/a.yaml:{line}: " in result.err and shown in result.err, result.err


def test_a_file_level_dataset_problem_shows_no_none_line(project):
    project.write("data/a.jsonl", "".join(json.dumps(chat_example(i)) + "\n" for i in range(3)))
    project.spec("a")
    result = project.run("validate")
    clean(result)
    assert result.rc == 1 and "too_few_examples" in result.err and ":None" not in result.all


def test_a_warning_about_a_file_many_specs_share_is_printed_once(project):
    project.dataset("data/shared.jsonl", 12)
    for i in range(40):
        project.spec(f"s{i}", training_file="../data/shared.jsonl", seed=i)
    result = project.run("plan", "--no-refresh")
    clean(result)
    assert result.err.count("[few_examples]") == 1, result.err


def test_plan_target_prints_only_the_targeted_specs_dataset_messages(project):
    project.dataset("data/a.jsonl", 12)
    project.dataset("data/b.jsonl", 60, start=100)
    project.spec("a")
    project.spec("b", training_file="../data/b.jsonl")
    result = project.run("plan", "--no-refresh", "--target", "b")
    clean(result)
    assert "data/a.jsonl" not in result.err


def test_json_output_is_a_document_even_when_the_plan_fails(project):
    project.write("specs/a.yaml", "name: [\n")
    result = project.run("plan", "--format", "json")
    assert result.rc == 1
    document = json.loads(result.out)
    assert document["has_errors"] is True and document["actions"] == []
    assert any("specs/a.yaml:" in n["message"] for n in document["notices"])


class _SamePage(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        path = self.path.split("?")[0]
        if path.endswith("/models"):
            body = {"object": "list", "data": [{"id": "gpt-4o-mini-2024-07-18", "object": "model"}]}
        else:  # a broken list: always more, always the same page
            body = {"object": "list", "data": [{"id": "ftjob-same", "status": "running", "model": "m"}],
                    "has_more": True}
        payload = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def test_a_list_that_keeps_answering_has_more_with_the_same_page_is_a_provider_error(tmp_path, monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SamePage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        root = tmp_path / "proj"
        write_jsonl(root / "data" / "a.jsonl", [chat_example(i) for i in range(12)])
        (root / "ftops.yaml").write_text(yaml.safe_dump({"default_provider": "p", "providers": {
            "p": {"type": "openai", "base_url": url, "api_key_env": "K"}}}))
        (root / "specs").mkdir()
        (root / "specs" / "a.yaml").write_text(yaml.safe_dump({"name": "a", "base_model": "gpt-4o-mini-2024-07-18",
                                                               "training_file": "../data/a.jsonl"}))
        monkeypatch.setenv("K", "k")
        result = Project(root, None, bind={"K": url}).run("plan")
    finally:
        server.shutdown()
        server.server_close()
    clean(result)
    assert result.rc == 1 and "keeps answering has_more with the same page" in result.err, result.all


PATHS = st.one_of(st.text(max_size=40), st.just("x" * 3000), st.sampled_from(
    ["../data/a.jsonl", "/etc/passwd", "~/x", "data\\a.jsonl", "con", "a\x00b", "../../../../../../etc/hosts"]))
NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(min_value=-10**30, max_value=10**30),
                    st.booleans(), st.text(max_size=5))


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(path=PATHS, epochs=NUMBERS, budget=NUMBERS, rate=NUMBERS)
def test_any_path_or_number_in_a_spec_is_an_error_or_a_plan_never_a_crash(tmp_path_factory, path, epochs, budget,
                                                                            rate):
    root = tmp_path_factory.mktemp("fuzz")
    write_jsonl(root / "data" / "a.jsonl", [chat_example(i) for i in range(12)])
    (root / "specs").mkdir()
    (root / "specs" / "a.yaml").write_text(yaml.safe_dump({
        "name": "a", "base_model": "gpt-4o-mini-2024-07-18", "training_file": path, "budget_usd": budget,
        "method": {"type": "supervised", "hyperparameters": {"n_epochs": epochs, "learning_rate_multiplier": rate}},
    }, allow_unicode=True))
    project = Project(root, None)
    for args in (("validate",), ("plan", "--no-refresh"), ("plan", "--no-refresh", "--format", "json")):
        clean(project.run(*args))
