"""`ftops data check FILE` inside a project checks a file the way the spec that uses it trains on it."""

from __future__ import annotations

import json

import yaml

from tests.dataset.support import chat, write_lines
from tests.newcomer.support import cli


def preference(i: int) -> dict:
    return {"input": {"messages": [{"role": "user", "content": f"Say hi {i}"}]},
            "preferred_output": [{"role": "assistant", "content": f"Hi {i}."}],
            "non_preferred_output": [{"role": "assistant", "content": f"Well, hello there, number {i}!"}]}


def project(root):
    (root / "ftops.yaml").write_text("default_provider: local\n")
    (root / "data").mkdir()
    write_lines(root / "data/prefs.jsonl", [preference(i) for i in range(20)])
    write_lines(root / "data/valid.jsonl", [chat(i) for i in range(100, 104)])  # 4 examples: fine for validation
    write_lines(root / "data/train.jsonl", [chat(i) for i in range(60)])
    (root / "specs").mkdir()
    (root / "specs/s.yaml").write_text(yaml.safe_dump_all([
        {"name": "tone", "base_model": "gpt-4.1-mini-2025-04-14", "training_file": "../data/prefs.jsonl",
         "method": {"type": "dpo"}},
        {"name": "bot", "base_model": "gpt-4o-mini-2024-07-18", "training_file": "../data/train.jsonl",
         "validation_file": "../data/valid.jsonl"}]))
    return root


def test_a_dpo_file_and_a_small_validation_file_pass_as_their_specs_use_them(tmp_path):
    root = project(tmp_path)

    result = cli(root, "data", "check", "data/prefs.jsonl", "data/valid.jsonl", "--json")

    assert result.rc == 0, result.all
    files = json.loads(result.out)["files"]
    assert [(f["spec"], f["role"], f["format"]) for f in files] == [("tone", "training", "dpo"),
                                                                      ("bot", "validation", "chat")]
    assert files[0]["estimated_cost_usd"] is not None  # priced on the spec's base model
    text = cli(root, "data", "check", "data/prefs.jsonl").out
    assert "checked as spec tone's training file (dpo, gpt-4.1-mini-2025-04-14)" in text


def test_an_explicit_method_or_model_wins_and_a_file_no_spec_uses_gets_the_defaults(tmp_path):
    root = project(tmp_path)
    write_lines(root / "data/loose.jsonl", [chat(i) for i in range(5)])

    forced = cli(root, "data", "check", "data/prefs.jsonl", "--method", "supervised")
    loose = cli(root, "data", "check", "data/loose.jsonl", "--json")

    assert forced.rc == 1 and "format_mismatch" in forced.out
    assert loose.rc == 1 and json.loads(loose.out)["files"][0]["spec"] is None  # 5 training examples: too few


def test_a_project_whose_specs_do_not_load_falls_back_to_the_defaults(tmp_path):
    root = project(tmp_path)
    (root / "specs/broken.yaml").write_text("name: [unclosed\n")

    result = cli(root, "data", "check", "data/train.jsonl", "--json")

    assert result.rc == 0 and json.loads(result.out)["files"][0]["spec"] is None
