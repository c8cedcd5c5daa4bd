"""Prompt/completion files (babbage-002, davinci-002): the useful half of the legacy prepare_data advice,
without its bugs (no stop=["tive"], 1-based lines, no warning that always fires)."""

from __future__ import annotations

from tests.dataset.support import check_rows, codes, warning

SEP = "\n\n###\n\n"


def review(i: int, label: str) -> dict:
    return {"prompt": f"Review {i}: the product was {'great' if label == ' positive' else 'awful'}{SEP}",
            "completion": label}


def generation(i: int, end: str = "\n") -> dict:
    return {"prompt": f"Write a title for article {i}{SEP}", "completion": f" How we shipped feature {i}{end}"}


def test_classification_is_detected_with_per_class_counts_and_no_nonsense_stop_sequence(tmp_path):
    rows = [review(i, " positive" if i % 3 else " negative") for i in range(60)]
    report = check_rows(tmp_path, rows, model="babbage-002")
    advice = warning(report, "classification_task")
    assert "2 classes" in advice.message
    assert "' positive': 40" in advice.message and "' negative': 20" in advice.message
    assert "accuracy" in advice.message
    assert "tive" not in " ".join(w.message for w in report.warnings  # these two list the labels themselves
                                  if w.code not in ("classification_task", "small_classes"))
    assert warning(report, "no_stop_sequence") is None


def test_a_generation_task_without_a_common_ending_gets_stop_sequence_advice(tmp_path):
    rows = [generation(i, end="") for i in range(60)]
    report = check_rows(tmp_path, rows, model="davinci-002")
    assert warning(report, "no_stop_sequence")
    assert warning(report, "classification_task") is None


def test_shared_word_endings_are_not_a_stop_sequence(tmp_path):
    rows = [{"prompt": f"p{i}{SEP}", "completion": f" task {i} was {w}"} for i, w in
            enumerate(["running", "going", "singing", "bring"] * 15)]
    assert warning(check_rows(tmp_path, rows), "no_stop_sequence")  # "ing" is no stop sequence


def test_a_consistent_stop_sequence_and_separator_raise_no_advice(tmp_path):
    report = check_rows(tmp_path, [generation(i) for i in range(60)], model="davinci-002")
    assert report.warnings == []
    assert report.errors == []


def test_prompts_without_a_common_separator_get_advice_once(tmp_path):
    rows = [{"prompt": f"Write a title for article {i}", "completion": f" Title {i}\n"} for i in range(60)]
    report = check_rows(tmp_path, rows)
    assert warning(report, "no_prompt_separator").lines == ()


def test_completions_without_a_leading_space_are_listed_by_1_based_line(tmp_path):
    rows = [generation(i) for i in range(60)]
    rows[0]["completion"] = "No space\n"
    rows[4]["completion"] = "Nor here\n"
    report = check_rows(tmp_path, rows)
    assert warning(report, "completion_no_leading_space").lines == (1, 5)


def test_prompt_completion_errors_and_extra_keys(tmp_path):
    rows = [generation(i) for i in range(20)]
    rows[1] = {"prompt": "p"}
    rows[2] = {"prompt": 5, "completion": " c"}
    rows[3] = {"prompt": "p", "completion": "   "}
    rows[4] = generation(4) | {"id": 4}
    report = check_rows(tmp_path, rows)
    assert codes(report) == [(2, "missing_completion"), (3, "invalid_prompt"), (4, "empty_completion")]
    assert warning(report, "unrecognized_key").lines == (5,)
