"""`ftops data check` through the CLI entry point: text, JSON shape, exit codes."""

from __future__ import annotations

import json

import pytest

from ftops.cli.main import main
from tests.dataset.support import chat, with_rows, write_lines


def run(capsys, *args: str):
    rc = main(["data", "check", *args])
    out, err = capsys.readouterr()
    return rc, out, err


def test_json_output_has_the_documented_shape(tmp_path, capsys):
    path = write_lines(tmp_path / "train.jsonl", with_rows({3: "{broken"}, n=60))
    rc, out, _ = run(capsys, str(path), "--model", "gpt-4o-mini", "--json")
    assert rc == 1
    data = json.loads(out)
    (report,) = data["files"]
    assert {"path", "format", "examples", "errors", "warnings", "tokens", "epochs", "estimated_cost_usd"} <= set(report)
    assert report["path"] == str(path) and report["format"] == "chat" and report["examples"] == 60
    assert report["errors"] == [{"line": 3, "code": "invalid_json", "message": report["errors"][0]["message"]}]
    assert set(report["tokens"]) == {"encoding", "total", "billing", "max_per_example", "over_limit"}
    assert report["tokens"]["encoding"] == "o200k_base" and report["epochs"] == 3
    assert isinstance(report["estimated_cost_usd"], float)
    assert data["overlap"] == []


def test_a_clean_file_exits_0_and_says_so(tmp_path, capsys):
    path = write_lines(tmp_path / "train.jsonl", [chat(i) for i in range(60)])
    rc, out, _ = run(capsys, str(path), "--model", "gpt-4o-mini", "--n-epochs", "4")
    assert rc == 0
    assert "chat, 60 examples" in out and "4 epoch(s)" in out and "est. cost $" in out
    assert "1 file(s) OK." in out


def test_errors_are_printed_with_file_and_line_and_exit_1(tmp_path, capsys):
    path = write_lines(tmp_path / "train.jsonl", with_rows({7: {"messages": []}}, n=60))
    rc, out, _ = run(capsys, str(path))
    assert rc == 1
    assert f"error: {path}:7: [missing_messages_list]" in out
    assert "est. cost unknown (give --model)" in out


def test_a_missing_file_is_a_clear_error_without_traceback(tmp_path, capsys):
    rc, out, err = run(capsys, str(tmp_path / "nope.jsonl"))
    assert rc == 1
    assert "nope.jsonl: no such file" in err
    assert "Traceback" not in out + err


def test_an_unknown_model_is_warned_about_and_each_file_is_reported_once(tmp_path, capsys):
    path = write_lines(tmp_path / "train.jsonl", [chat(i) for i in range(60)])
    rc, out, err = run(capsys, str(path), "--model", "gpt-9-imaginary")
    assert rc == 0
    assert ("warning: --model gpt-9-imaginary: no provider type ftops knows offers this model; counting with "
            "o200k_base and no token limit or price") in err
    assert out.count(f"{path}: chat, 60 examples") == 1 and "3 epoch(s), est. cost unknown\n" in out
    rc, _, err = run(capsys, str(path), "--model", "gpt-4o-mini-2024-07-18")
    assert rc == 0 and "warning" not in err


def test_bad_options_exit_1(tmp_path, capsys):
    path = write_lines(tmp_path / "train.jsonl", [chat(i) for i in range(60)])
    assert run(capsys, str(path), "--n-epochs", "zero")[0] == 1
    assert run(capsys, str(path), "--method", "rlhf")[0] == 1


def test_two_training_files_sharing_examples_are_told_so_without_validation_advice(tmp_path, capsys):
    train = write_lines(tmp_path / "train.jsonl", [chat(i) for i in range(60)])
    more = write_lines(tmp_path / "more.jsonl", [chat(5)] + [chat(i) for i in range(100, 111)])
    rc, out, _ = run(capsys, str(train), str(more), "--json")
    assert rc == 0  # sharing examples between training files is allowed; it is only worth knowing
    (overlap,) = json.loads(out)["overlap"]
    assert overlap["files"] == [str(train), str(more)]
    assert overlap["code"] == "shared_examples" and overlap["lines"] == [1]
    assert "validation" not in overlap["message"]
    rc, out, _ = run(capsys, str(train), str(more))
    assert rc == 0 and "warning: [shared_examples]" in out


def test_validation_files_are_checked_as_validation_and_against_each_training_file(tmp_path, capsys):
    train = write_lines(tmp_path / "train.jsonl", [chat(i) for i in range(60)])
    other = write_lines(tmp_path / "more.jsonl", [chat(i) for i in range(200, 260)])
    valid = write_lines(tmp_path / "valid.jsonl", [chat(i) for i in (300, 5, 201)])  # 3 examples: fine for validation
    rc, out, _ = run(capsys, str(train), str(other), "--validation", str(valid), "--model", "gpt-4o-mini", "--json")
    assert rc == 1  # the provider would fail a job whose validation file shares examples: an error, as in plan
    data = json.loads(out)
    assert [(f["path"], f["role"]) for f in data["files"]] == [
        (str(train), "training"), (str(other), "training"), (str(valid), "validation")]
    assert data["files"][2]["estimated_cost_usd"] is None and data["files"][2]["errors"] == []
    assert [(o["files"], o["lines"]) for o in data["overlap"]] == [([str(train), str(valid)], [2]),
                                                                   ([str(other), str(valid)], [3])]
    rc, out, _ = run(capsys, str(train), "--validation", str(valid))
    assert rc == 1 and f"{valid} (validation): chat, 3 examples" in out
    assert "error: [train_validation_overlap]" in out
    clean = write_lines(tmp_path / "clean.jsonl", [chat(i) for i in (300, 301, 302)])
    assert run(capsys, str(train), "--validation", str(clean))[0] == 0


def test_inside_a_project_results_are_cached_under_dot_ftops(tmp_path, capsys, monkeypatch):
    (tmp_path / "ftops.yaml").write_text("specs: ['specs/*.yaml']\n")
    write_lines(tmp_path / "train.jsonl", [chat(i) for i in range(60)])
    monkeypatch.chdir(tmp_path)
    from ftops.cli import context

    monkeypatch.setattr(context.current, "directory", tmp_path)
    first = run(capsys, "train.jsonl", "--json")
    assert list((tmp_path / ".ftops" / "dataset").glob("*.json"))
    assert run(capsys, "train.jsonl", "--json") == first


def _xlsx(path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.append(["prompt", "completion"])
    book.active.append(["a", "b"])
    book.save(path)


@pytest.mark.parametrize(("name", "write", "what"), [
    ("train.csv", lambda p: p.write_text("prompt,completion\n" + "a,b\n" * 20), "a CSV file"),
    ("train.tsv", lambda p: p.write_text("prompt\tcompletion\n" + "a\tb\n" * 20), "a TSV file"),
    ("train.json", lambda p: p.write_text(json.dumps([chat(i) for i in range(20)], indent=2)), "a JSON array"),
    ("train.xlsx", _xlsx, "an Excel workbook (.xlsx)"),
])
def test_a_spreadsheet_or_json_array_is_named_with_the_command_that_converts_it(tmp_path, capsys, name, write, what):
    path = tmp_path / name
    write(path)
    rc, out, _ = run(capsys, str(path), "--json")
    assert rc == 1
    (report,) = json.loads(out)["files"]
    assert [e["code"] for e in report["errors"]] == ["not_jsonl"]  # not one invalid_json error per line
    assert f"this is {what}, not JSONL" in report["errors"][0]["message"]
    assert f"`ftops data prepare {name} -o train.jsonl`" in report["errors"][0]["message"]
    rc, out, _ = run(capsys, str(path))
    assert rc == 1 and f"{path}: not JSONL\n" in out and "[not_jsonl]" in out and "invalid_json" not in out


def test_a_spec_whose_training_file_is_a_csv_fails_validate_naming_the_prepare_command(project):
    project.write("data/a.csv", "prompt,completion\n" + "".join(f"q{i},a{i}\n" for i in range(20)))
    project.spec("a", training_file="../data/a.csv")
    result = project.run("validate")
    assert result.rc == 1
    assert "error: data/a.csv: [not_jsonl] this is a CSV file, not JSONL" in result.err  # a file-wide error: no line
    assert "`ftops data prepare a.csv -o a.jsonl`" in result.err
