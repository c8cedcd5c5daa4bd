"""`ftops data prepare` through the CLI: inputs with planted problems, each fix seen in the output and in the file
written, row numbers as in the input, splits, determinism, and an input that is never touched."""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter
from pathlib import Path

import pytest

from ftops.cli.main import main
from tests.dataset.support import write_lines


def run(capsys, directory: Path, *args: str):
    rc = main(["-C", str(directory), "data", "prepare", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return rc, out, err


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]


def write_csv(path: Path, rows: list[list[str]], delimiter: str = ",") -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, delimiter=delimiter).writerows(rows)
    return path


def untouched(path: Path):
    """The input's bytes and mtime, to compare after the run."""
    return path.read_bytes(), path.stat().st_mtime_ns


# A ticket sheet with a problem planted in (nearly) every row; row numbers are the spreadsheet's (header = 1).
TICKETS = [
    ["id", "ticket", "category", "notes"],                        # 1
    ["1", "  I was charged twice ", "billing", "stray spaces"],   # 2: whitespace around the prompt
    ["2", "The app crashes on start", " bug", ""],                 # 3: completion already has its leading space
    ["3", "Reset my password", "", "no label"],                    # 4: empty completion
    ["4", "The app crashes on start", "bug", "duplicate of 3"],   # 5: same as row 3 once the space is added
    ["5", "Where is my invoice?", "billing", ""],                 # 6
    ["", "", "", ""],                                              # 7: blank row
    ["6", "Please close my account " + "now " * 40, "account", "long"],  # 8: over --max-chars 120
    ["7", "Change my email", "account", ""],                      # 9
]


def test_a_csv_with_planted_problems_is_fixed_and_every_change_reported(tmp_path, capsys):
    src = write_csv(tmp_path / "tickets.csv", TICKETS)
    before = untouched(src)
    rc, out, _ = run(capsys, tmp_path, "tickets.csv", "-o", "train.jsonl", "--prompt-column", "ticket",
                     "--completion-column", "category", "--fix-all", "--max-chars", "120")
    assert rc == 0, out
    assert untouched(src) == before
    assert "read tickets.csv: CSV, 8 row(s) (row 1 is the header)" in out
    assert "skipped 1 blank row 7" in out
    assert "columns: prompt <- 'ticket', completion <- 'category'" in out
    assert "ignored columns (not written): 'id', 'notes'" in out
    assert "strip-whitespace: removed surrounding whitespace in 2 example(s)" in out and "(rows 2, 8)" in out
    assert "row 4: empty completion" in out
    assert "prompt-separator: appended the separator '\\n\\n###\\n\\n' to 6 prompt(s) (rows 2, 3, 5, 6, 8, 9)" in out
    assert "completion-leading-space: added a leading space to 5 completion(s) (rows 2, 5, 6, 8, 9)" in out
    assert "completion-stop: appended the stop sequence '\\n' to 6 completion(s) (rows 2, 3, 5, 6, 8, 9)" in out
    assert "row 5: same as row 3" in out  # numbers of the input, although row 4 was dropped before
    assert "row 8: " in out and "over the limit of 120" in out
    assert "wrote train.jsonl (4 examples)" in out
    assert read_jsonl(tmp_path / "train.jsonl") == [
        {"prompt": "I was charged twice\n\n###\n\n", "completion": " billing\n"},
        {"prompt": "The app crashes on start\n\n###\n\n", "completion": " bug\n"},
        {"prompt": "Where is my invoice?\n\n###\n\n", "completion": " billing\n"},
        {"prompt": "Change my email\n\n###\n\n", "completion": " account\n"},
    ]


def test_without_fixes_the_rows_are_written_as_they_are_and_the_fixes_suggested(tmp_path, capsys):
    write_csv(tmp_path / "tickets.csv", TICKETS)
    rc, out, _ = run(capsys, tmp_path, "tickets.csv", "--prompt-column", "ticket", "--completion-column", "category")
    assert rc == 0
    assert "other fixes (not applied; add --fix NAME or --fix-all):" in out
    assert "drop-empty: 1 example(s) have an empty text (the API rejects them):\n    row 4: empty completion" in out
    assert "dedupe" not in out  # rows 3 and 5 differ until the leading space is added
    written = read_jsonl(tmp_path / "tickets_prepared.jsonl")
    assert len(written) == 7 and written[0] == {"prompt": "  I was charged twice ", "completion": "billing"}


def test_legacy_bugs_are_not_repeated(tmp_path, capsys):
    """' positive'/' negative' share no stop sequence ('tive' was the legacy advice); a prompt that already ends
    with the separator does not get it twice."""
    rows = [{"prompt": f"Review {i}: {'great' if i % 2 else 'awful'}" + ("\n\n###\n\n" if i < 3 else ""),
             "completion": " positive" if i % 2 else " negative"} for i in range(6)]
    write_lines(tmp_path / "reviews.jsonl", rows)
    rc, out, _ = run(capsys, tmp_path, "reviews.jsonl", "--fix", "prompt-separator", "--fix", "completion-stop")
    assert rc == 0
    assert "appended the separator '\\n\\n###\\n\\n' to 3 prompt(s) (lines 4, 5, 6)" in out
    assert "appended the stop sequence '\\n' to 6 completion(s)" in out
    assert "tive" not in out.replace("positive", "").replace("negative", "")
    written = read_jsonl(tmp_path / "reviews_prepared.jsonl")
    assert all(r["prompt"].endswith("\n\n###\n\n") and not r["prompt"].endswith("###\n\n\n\n###\n\n")
               for r in written)
    assert [r["completion"] for r in written[:2]] == [" negative\n", " positive\n"]


def test_a_common_ending_on_whole_words_is_kept_as_the_stop_sequence(tmp_path, capsys):
    rows = [{"prompt": f"Q{i}\n\n###\n\n", "completion": f" answer {i} END"} for i in range(4)]
    write_lines(tmp_path / "qa.jsonl", rows)
    rc, out, _ = run(capsys, tmp_path, "qa.jsonl", "--fix-all")
    assert rc == 0
    assert "completion-stop: nothing to change; every completion ends with ' END': call the model with stop=[' END']" \
        in out
    assert "prompt-separator: nothing to change; every prompt ends with '\\n\\n###\\n\\n'" in out
    assert read_jsonl(tmp_path / "qa_prepared.jsonl") == rows


def test_a_jsonl_chat_file_with_long_and_repeated_examples(tmp_path, capsys):
    short = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}
    same_other_layout = '{"messages":[{"content":"Hi","role":"user"},{"content":"Hello!","role":"assistant"}]}'
    long = {"messages": [{"role": "user", "content": "Summarise: " + "lorem ipsum " * 60},
                         {"role": "assistant", "content": "Lorem."}]}
    src = write_lines(tmp_path / "chat.jsonl", [short, "", same_other_layout, long])
    before = untouched(src)
    rc, out, _ = run(capsys, tmp_path, "chat.jsonl", "--fix", "dedupe", "--fix", "drop-long", "--max-tokens", "50",
                     "-o", "out.jsonl")
    assert rc == 0, out
    assert untouched(src) == before
    assert "read chat.jsonl: JSONL, 4 line(s)" in out and "skipped 1 blank line 2" in out
    assert "line 3: same as line 1" in out  # key order and spacing do not make another example
    assert "line 4: 13" in out and "tokens (o200k_base), over the limit of 50" in out
    assert read_jsonl(tmp_path / "out.jsonl") == [short]


def test_a_tsv_with_chat_columns_and_a_system_message(tmp_path, capsys):
    write_csv(tmp_path / "chat.tsv", [
        ["question", "answer"],
        ["How do I reset my password? ", " Use the link on the sign-in page."],
        ["Can I pay by invoice?", ""],
        ["Where is my order?", "Under Orders in your account."],
    ], delimiter="\t")
    rc, out, _ = run(capsys, tmp_path, "chat.tsv", "-o", "chat.jsonl", "--user-column", "question",
                     "--assistant-column", "answer", "--system", "You are Acme's support bot.",
                     "--fix", "strip-whitespace", "--fix", "drop-empty")
    assert rc == 0, out
    assert "read chat.tsv: TSV, 3 row(s)" in out
    assert "row 3: empty assistant message (message 3)" in out
    assert read_jsonl(tmp_path / "chat.jsonl") == [
        {"messages": [{"role": "system", "content": "You are Acme's support bot."},
                      {"role": "user", "content": "How do I reset my password?"},
                      {"role": "assistant", "content": "Use the link on the sign-in page."}]},
        {"messages": [{"role": "system", "content": "You are Acme's support bot."},
                      {"role": "user", "content": "Where is my order?"},
                      {"role": "assistant", "content": "Under Orders in your account."}]},
    ]


def _workbook(path: Path, sheets: dict[str, list[list]]) -> Path:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def test_an_xlsx_sheet_becomes_chat_with_duplicates_dropped(tmp_path, capsys):
    src = _workbook(tmp_path / "labels.xlsx", {
        "notes": [["ignore me"]],
        "data": [["Prompt", "Completion", "Score"],
                 ["2 + 2", 4, 0.5],
                 ["Capital of France", "Paris", 1],
                 ["2 + 2", 4, 0.5],
                 [None, None, None],
                 ["Largest planet", "Jupiter", 1]]})
    before = untouched(src)
    rc, out, _ = run(capsys, tmp_path, "labels.xlsx", "--sheet", "data", "--format", "chat", "--fix", "dedupe",
                     "-o", "out.jsonl")
    assert rc == 0, out
    assert untouched(src) == before
    assert "read labels.xlsx: XLSX workbook, 5 row(s) (row 1 is the header)" in out
    assert "skipped 1 blank row 5" in out and "ignored columns (not written): 'Score'" in out
    assert "examples: 4 prompt/completion; 4 converted; writing chat" in out
    assert "row 4: same as row 2" in out
    assert read_jsonl(tmp_path / "out.jsonl") == [
        {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}
        for q, a in (("2 + 2", "4"), ("Capital of France", "Paris"), ("Largest planet", "Jupiter"))]


def test_without_openpyxl_an_xlsx_says_which_extra_to_install(tmp_path, capsys, monkeypatch):
    src = _workbook(tmp_path / "data.xlsx", {"Sheet": [["prompt", "completion"], ["a", "b"]]})
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # what `import openpyxl` sees when it is not installed
    rc, _, err = run(capsys, tmp_path, src.name)
    assert rc == 1
    assert "needs the optional openpyxl package" in err and "pip install 'ftops[xlsx]'" in err


def test_a_json_array_of_chat_examples_becomes_gemini_contents(tmp_path, capsys):
    examples = [{"messages": [{"role": "system", "content": "Be brief."},
                              {"role": "user", "content": f"Question {i}?  "},
                              {"role": "assistant", "content": f"Answer {i}."}]} for i in range(3)]
    examples[1]["messages"][2]["content"] = "   "
    (tmp_path / "chats.json").write_text(json.dumps(examples, indent=2), encoding="utf-8")
    rc, out, _ = run(capsys, tmp_path, "chats.json", "--format", "gemini", "--fix-all", "-o", "gemini.jsonl")
    assert rc == 0, out
    assert "read chats.json: JSON array, 3 item(s)" in out
    assert "item 2: empty assistant message (message 3)" in out
    assert "writing gemini" in out
    assert read_jsonl(tmp_path / "gemini.jsonl") == [
        {"systemInstruction": {"parts": [{"text": "Be brief."}]},
         "contents": [{"role": "user", "parts": [{"text": f"Question {i}?"}]},
                      {"role": "model", "parts": [{"text": f"Answer {i}."}]}]} for i in (0, 2)]


def test_preference_columns_of_a_semicolon_csv_become_gemini_preference_rows_and_back(tmp_path, capsys):
    (tmp_path / "prefs.csv").write_text("question;chosen;rejected\nWhat is 2+2?;4;Probably 5\n"
                                        "Capital of France?;Paris;Lyon, I think\n", encoding="utf-8")
    rc, out, _ = run(capsys, tmp_path, "prefs.csv", "--user-column", "question", "--format", "gemini",
                     "-o", "prefs.gemini.jsonl")
    assert rc == 0, out
    assert "columns: preferred <- 'chosen', non_preferred <- 'rejected', user <- 'question'" in out
    assert "examples: 2 dpo; writing gemini (preference)" in out
    first = read_jsonl(tmp_path / "prefs.gemini.jsonl")[0]
    assert first == {"contents": [{"role": "user", "parts": [{"text": "What is 2+2?"}]}],
                     "completions": [{"score": 1, "completion": {"role": "model", "parts": [{"text": "4"}]}},
                                     {"score": 0, "completion": {"role": "model", "parts": [{"text": "Probably 5"}]}}]}
    rc, out, _ = run(capsys, tmp_path, "prefs.gemini.jsonl", "--format", "dpo", "-o", "prefs.jsonl")
    assert rc == 0 and "2 gemini (preference); 2 converted; writing dpo" in out
    assert read_jsonl(tmp_path / "prefs.jsonl")[1] == {
        "input": {"messages": [{"role": "user", "content": "Capital of France?"}]},
        "preferred_output": [{"role": "assistant", "content": "Paris"}],
        "non_preferred_output": [{"role": "assistant", "content": "Lyon, I think"}]}


def test_an_example_that_cannot_be_converted_is_an_error_naming_its_line(tmp_path, capsys):
    rows = [{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}] * 2
    rows.append({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                              {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}]})
    write_lines(tmp_path / "chat.jsonl", rows)
    rc, _, err = run(capsys, tmp_path, "chat.jsonl", "--format", "prompt-completion")
    assert rc == 1
    assert "1 line(s) cannot become prompt/completion examples" in err
    assert "line 3: only one user message followed by one assistant answer converts to prompt/completion" in err
    assert not (tmp_path / "chat_prepared.jsonl").exists()


def test_a_stratified_split_keeps_class_proportions_and_shares_no_example(tmp_path, capsys):
    counts = {"billing": 40, "bug": 28, "account": 12}
    rows = [["text", "label"]] + [[f"{label} ticket {i}", label] for label, n in counts.items() for i in range(n)]
    rows += [["bug ticket 3", "bug"]] * 4  # repeats: they must all land on one side
    write_csv(tmp_path / "t.csv", rows)
    args = ["t.csv", "--prompt-column", "text", "--completion-column", "label", "--split", "0.25", "--stratify",
            "--seed", "7"]
    rc, out, _ = run(capsys, tmp_path, *args, "-o", "a/train.jsonl")
    assert rc == 0, out
    assert "split: 63 training, 21 validation (seed 7, stratified by label)" in out
    assert "'bug': 24 training, 8 validation" in out
    assert "'billing': 30 training, 10 validation" in out and "'account': 9 training, 3 validation" in out
    assert "wrote a/train.jsonl (63 examples) and a/valid.jsonl (21 examples)" in out
    train, valid = read_jsonl(tmp_path / "a/train.jsonl"), read_jsonl(tmp_path / "a/valid.jsonl")
    for label, n in counts.items():
        share = Counter(r["completion"] for r in valid)[label] / (n + (4 if label == "bug" else 0))
        assert abs(share - 0.25) < 0.06, (label, share)
    as_text = lambda rows: {json.dumps(r, sort_keys=True) for r in rows}  # noqa: E731
    assert not as_text(train) & as_text(valid)
    assert len(train) + len(valid) == 84

    rc, _, _ = run(capsys, tmp_path, *args, "-o", "b/train.jsonl")
    assert rc == 0
    for name in ("train.jsonl", "valid.jsonl"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    rc, _, _ = run(capsys, tmp_path, *args[:-1], "8", "-o", "c/train.jsonl")
    assert (tmp_path / "c/valid.jsonl").read_bytes() != (tmp_path / "a/valid.jsonl").read_bytes()


def test_stratify_refuses_labels_that_are_free_text(tmp_path, capsys):
    write_csv(tmp_path / "t.csv", [["prompt", "completion"]] + [[f"q{i}", f"a long answer {i}"] for i in range(20)])
    rc, _, err = run(capsys, tmp_path, "t.csv", "--split", "0.2", "--stratify")
    assert rc == 1 and "--stratify needs classification data" in err


def test_a_dry_run_reports_and_writes_nothing(tmp_path, capsys):
    write_csv(tmp_path / "tickets.csv", TICKETS)
    rc, out, _ = run(capsys, tmp_path, "tickets.csv", "--prompt-column", "ticket", "--completion-column", "category",
                     "--fix-all", "--split", "0.2", "--dry-run")
    assert rc == 0
    assert "fixes applied:" in out and "dry run: would write tickets_prepared_train.jsonl" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tickets.csv"]


def test_existing_outputs_and_the_input_are_never_overwritten(tmp_path, capsys):
    write_csv(tmp_path / "tickets.csv", TICKETS)
    (tmp_path / "train.jsonl").write_text("keep me\n")
    base = ["tickets.csv", "--prompt-column", "ticket", "--completion-column", "category"]
    rc, _, err = run(capsys, tmp_path, *base, "-o", "train.jsonl")
    assert rc == 1 and "train.jsonl: already exists" in err and "--force" in err
    assert (tmp_path / "train.jsonl").read_text() == "keep me\n"
    rc, _, err = run(capsys, tmp_path, *base, "-o", "tickets.csv", "--force")
    assert rc == 1 and "that is the input file; prepare never edits its input" in err
    rc, _, _ = run(capsys, tmp_path, *base, "-o", "train.jsonl", "--force")
    assert rc == 0 and len(read_jsonl(tmp_path / "train.jsonl")) == 7


@pytest.mark.parametrize(("args", "says"), [
    (["--prompt-column", "nope"], "no column named 'nope'; the columns are 'id', 'ticket', 'category', 'notes'"),
    ([], "cannot tell which columns hold the examples"),
    (["--user-column", "ticket", "--assistant-column", "category", "--fix", "prompt-separator"],
     "--fix prompt-separator applies to prompt/completion data; these are chat examples"),
    (["--prompt-column", "ticket", "--completion-column", "category", "--fix", "drop-long"],
     "--fix drop-long needs a limit"),
    (["--prompt-column", "ticket", "--completion-column", "category", "--fix", "tidy"], "unknown fix 'tidy'"),
    (["--prompt-column", "ticket", "--completion-column", "category", "--split", "0"], "--split 0.0: give the "
                                                                                      "validation share"),
    (["--prompt-column", "ticket", "--completion-column", "category", "--split", "0.01"], "leaves no validation example"),
    (["--prompt-column", "ticket", "--completion-column", "category", "--stratify"], "needs --split"),
    (["--prompt-column", "ticket", "--completion-column", "category", "--system", "hi"],
     "prompt/completion examples have none"),
])
def test_mistakes_are_one_clear_error(tmp_path, capsys, args, says):
    write_csv(tmp_path / "tickets.csv", TICKETS)
    rc, out, err = run(capsys, tmp_path, "tickets.csv", *args)
    assert rc == 1
    assert says in out + err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tickets.csv"]


def test_a_missing_input_is_one_clear_error(tmp_path, capsys):
    rc, _, err = run(capsys, tmp_path, "nope.csv")
    assert rc == 1 and "error: nope.csv: no such file" in err


def test_a_jsonl_input_with_broken_lines_names_them(tmp_path, capsys):
    write_lines(tmp_path / "d.jsonl", [{"prompt": "a", "completion": "b"}, "{broken", {"prompt": "c", "completion": "d"},
                                       "[1, NaN]"])
    rc, _, err = run(capsys, tmp_path, "d.jsonl")
    assert rc == 1
    assert "2 line(s) are not JSON" in err and "line 2: not valid JSON" in err and "line 4: not valid JSON" in err


@pytest.mark.parametrize(("content", "says"), [
    ("prompt,completion\nCafé,ok\n".encode("cp1252"), "not UTF-8 (line 2)"),
    (b"prompt,completion\na,b\nc,d,e\n", "row 3: 3 cells, but the header names 2 columns"),
    (b"prompt,prompt\na,b\n", "the header names column 'prompt' twice (columns 1 and 2)"),
])
def test_a_table_that_cannot_be_read_says_where(tmp_path, capsys, content, says):
    (tmp_path / "t.csv").write_bytes(content)
    rc, _, err = run(capsys, tmp_path, "t.csv")
    assert rc == 1 and says in err
