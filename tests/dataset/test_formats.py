"""Format detection and fit: prompt/completion, DPO and reinforcement rows, and whether the data suits the
method and the base model."""

from __future__ import annotations

import pytest

from tests.dataset.support import chat, check_rows, codes, warning, with_rows


def pc(i: int) -> dict:
    return {"prompt": f"Summarise ticket {i}\n\n###\n\n", "completion": f" Ticket {i} is about billing.\n"}


def dpo(i: int) -> dict:
    return {"input": {"messages": [{"role": "user", "content": f"Say hi to {i}"}]},
            "preferred_output": [{"role": "assistant", "content": f"Hi {i}!"}],
            "non_preferred_output": [{"role": "assistant", "content": f"Go away, {i}."}]}


def rft(i: int) -> dict:
    return {"messages": [{"role": "developer", "content": "Answer with a number."},
                         {"role": "user", "content": f"What is {i} + {i}?"}], "reference_answer": str(2 * i)}


@pytest.mark.parametrize("make, method, model, fmt", [
    (chat, "supervised", "gpt-4o-mini", "chat"),
    (pc, "supervised", "babbage-002", "prompt_completion"),
    (pc, "supervised", None, "prompt_completion"),
    (dpo, "dpo", "gpt-4.1-mini", "dpo"),
    (rft, "reinforcement", "o4-mini", "reinforcement"),
])
def test_each_format_is_detected_and_accepted_where_it_fits(tmp_path, make, method, model, fmt):
    report = check_rows(tmp_path, [make(i) for i in range(60)], method=method, model=model)
    assert report.format == fmt
    assert report.errors == []


@pytest.mark.parametrize("make, method, model", [
    (chat, "supervised", "babbage-002"),  # babbage takes prompt/completion only
    (pc, "supervised", "gpt-4o-mini"),
    (chat, "dpo", "gpt-4o-mini"),
    (dpo, "supervised", None),
    (pc, "reinforcement", None),
])
def test_data_that_does_not_fit_the_method_or_model_is_a_format_mismatch(tmp_path, make, method, model):
    report = check_rows(tmp_path, [make(i) for i in range(60)], method=method, model=model)
    assert (None, "format_mismatch") in codes(report)
    assert not report.ok


def test_a_method_the_base_model_does_not_support_is_an_error(tmp_path):
    report = check_rows(tmp_path, [dpo(i) for i in range(60)], method="dpo", model="gpt-3.5-turbo")
    assert (None, "method_unsupported") in codes(report)


def test_fewer_than_ten_examples_is_an_error_and_fewer_than_fifty_a_warning(tmp_path):
    assert (None, "too_few_examples") in codes(check_rows(tmp_path, [chat(i) for i in range(9)]))
    ten = check_rows(tmp_path, [chat(i) for i in range(10)], name="ten.jsonl")
    assert ten.ok and warning(ten, "few_examples")
    assert warning(check_rows(tmp_path, [chat(i) for i in range(50)], name="fifty.jsonl"), "few_examples") is None


def test_a_small_validation_file_is_not_an_error(tmp_path):
    report = check_rows(tmp_path, [chat(i) for i in range(3)], model="gpt-4o-mini", role="validation")
    assert report.ok
    assert report.estimated_cost_usd is None  # validation tokens are not training tokens


def test_an_empty_file_is_too_few_examples_of_unknown_format(tmp_path):
    report = check_rows(tmp_path, [])
    assert report.format == "unknown" and report.examples == 0
    assert codes(report) == [(None, "too_few_examples")]


@pytest.mark.parametrize("row, code", [
    ({"preferred_output": [{"role": "assistant", "content": "a"}],
      "non_preferred_output": [{"role": "assistant", "content": "b"}]}, "dpo_missing_input"),
    ({"input": {"messages": []}, "preferred_output": [{"role": "assistant", "content": "a"}],
      "non_preferred_output": [{"role": "assistant", "content": "b"}]}, "dpo_invalid_input"),
    ({"input": {"messages": [{"role": "user", "content": "q"}]},
      "preferred_output": [{"role": "assistant", "content": "a"}]}, "dpo_missing_output"),
    ({"input": {"messages": [{"role": "user", "content": "q"}]},
      "preferred_output": [{"role": "assistant", "content": "a"}, {"role": "assistant", "content": "a2"}],
      "non_preferred_output": [{"role": "assistant", "content": "b"}]}, "dpo_invalid_output"),
    ({"input": {"messages": [{"role": "user", "content": "q"}]},
      "preferred_output": [{"role": "user", "content": "a"}],
      "non_preferred_output": [{"role": "assistant", "content": "b"}]}, "dpo_invalid_output"),
    ({"input": {"messages": [{"role": "wizard", "content": "q"}]},
      "preferred_output": [{"role": "assistant", "content": "a"}],
      "non_preferred_output": [{"role": "assistant", "content": "b"}]}, "unrecognized_role"),
])
def test_dpo_shape_errors(tmp_path, row, code):
    report = check_rows(tmp_path, with_rows({4: row}, make=dpo), method="dpo")
    assert (4, code) in codes(report)


def test_dpo_identical_outputs_are_a_warning(tmp_path):
    same = dpo(1) | {"non_preferred_output": dpo(1)["preferred_output"]}
    report = check_rows(tmp_path, with_rows({2: same}, n=60, make=dpo), method="dpo")
    assert report.ok and warning(report, "dpo_identical_outputs").lines == (2,)


def test_reinforcement_rows_need_a_prompt_and_get_advice_about_references(tmp_path):
    only_assistant = {"messages": [{"role": "assistant", "content": "42"}], "answer": "42"}
    no_reference = {"messages": [{"role": "user", "content": "q"}]}
    ends_with_answer = rft(3) | {"messages": rft(3)["messages"] + [{"role": "assistant", "content": "6"}]}
    report = check_rows(tmp_path, with_rows({1: only_assistant, 2: no_reference, 3: ends_with_answer}, n=60,
                                            make=rft), method="reinforcement")
    assert codes(report) == [(1, "rft_missing_prompt")]
    assert warning(report, "rft_no_reference_fields").lines == (2,)
    assert warning(report, "rft_ends_with_assistant").lines == (1, 3)
