"""Chat examples: what the current API accepts passes (including what the cookbook rejects), every broken
shape is an error with its line and a stable code, and advice fires only when it means something."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ftops.dataset.chat import check as chat_check
from ftops.dataset.labels import final_answer
from ftops.dataset.messages import check_message, is_blank_text
from ftops.dataset.scan import ChunkResult
from tests.dataset.support import chat, check_rows, codes, warning, with_rows

TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
CALL = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Oslo\"}"}}

ACCEPTED = {
    "tool calls and a tool result": {"tools": TOOLS, "parallel_tool_calls": False, "messages": [
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": None, "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\": 3}"},
        {"role": "assistant", "content": "3 degrees."}]},
    "content parts": {"messages": [
        {"role": "developer", "content": [{"type": "text", "text": "Describe images."}]},
        {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                     {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]},
        {"role": "assistant", "content": [{"type": "text", "text": "A cat."}]}]},
    "weights": {"messages": [
        {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hey", "weight": 0},
        {"role": "user", "content": "Hi again"}, {"role": "assistant", "content": "Hello!", "weight": 1}]},
    "legacy function call with null content": {"functions": [{"name": "f", "parameters": {}}], "messages": [
        {"role": "user", "content": "Call f"},
        {"role": "assistant", "content": None, "function_call": {"name": "f", "arguments": "{}"}},
        {"role": "function", "name": "f", "content": "done"},
        {"role": "assistant", "content": "Done.", "name": "bot"}]},
}


@pytest.mark.parametrize("row", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_chat_rows_the_api_accepts_have_no_errors(tmp_path, row):
    report = check_rows(tmp_path, with_rows({5: row}, n=60))
    assert report.format == "chat"
    assert report.errors == []
    assert report.ok


BROKEN = {
    "data_type": ["not an object"],
    "missing_messages_list": {"messages": []},
    "message_missing_key": {"messages": [{"content": "no role"}, {"role": "assistant", "content": "x"}]},
    "message_unrecognized_key": {"messages": [{"role": "user", "content": "a", "mood": "sad"},
                                              {"role": "assistant", "content": "x"}]},
    "unrecognized_role": {"messages": [{"role": "bot", "content": "a"}, {"role": "assistant", "content": "x"}]},
    "missing_content": {"messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": "x"}]},
    "example_missing_assistant_message": {"messages": [{"role": "user", "content": "anyone?"}]},
    "invalid_weight": {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b",
                                                                      "weight": 0.5}]},
    "invalid_tool_calls": {"messages": [{"role": "user", "content": "a"},
                                        {"role": "assistant", "tool_calls": [{"id": "c", "function": {}}]}]},
    "invalid_tools": {"tools": [{"name": "f"}], "messages": [{"role": "user", "content": "a"},
                                                            {"role": "assistant", "content": "b"}]},
    "invalid_parallel_tool_calls": {"parallel_tool_calls": "yes", "messages": [
        {"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]},
    "invalid_functions": {"functions": {"name": "f"}, "messages": [
        {"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]},
    "invalid_function_call": {"messages": [{"role": "user", "content": "a"},
                                           {"role": "assistant", "content": None, "function_call": {"name": "f"}}]},
    "invalid_name": {"messages": [{"role": "user", "content": "a", "name": 7}, {"role": "assistant", "content": "b"}]},
}


@pytest.mark.parametrize("code", BROKEN)
def test_each_broken_shape_is_an_error_with_its_line_and_code(tmp_path, code):
    report = check_rows(tmp_path, with_rows({7: BROKEN[code]}))
    assert (7, code) in codes(report)
    assert {line for line, _ in codes(report)} == {7}
    assert report.examples == 12


@pytest.mark.parametrize("message, code", [
    ({"role": "tool", "content": "42"}, "message_missing_key"),  # tool result without tool_call_id
    ({"role": "function", "content": "42"}, "message_missing_key"),  # function result without name
    ({"role": "user", "content": "x", "weight": 1}, "invalid_weight"),  # weight on a non-assistant message
    ({"role": "assistant", "content": "x", "weight": True}, "invalid_weight"),
    ({"role": "user", "content": 42}, "missing_content"),
    ({"role": "user", "content": None}, "missing_content"),
    ({"role": "user"}, "message_missing_key"),
    ({"role": ["user"], "content": "x"}, "unrecognized_role"),
    ({"role": {"name": "user"}, "content": "x"}, "unrecognized_role"),
    ({"role": 1, "content": "x"}, "unrecognized_role"),
    ({"role": "assistant", "content": None}, "missing_content"),  # null content needs a call
    ({"role": "user", "content": [{"type": "text"}]}, "missing_content"),
    ({"role": "user", "content": [{"type": "image_url", "image_url": {}}]}, "missing_content"),
    ("just text", "data_type"),
])
def test_message_level_errors(tmp_path, message, code):
    row = {"messages": [message, {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    report = check_rows(tmp_path, with_rows({2: row}))
    assert (2, code) in codes(report)


def test_one_malformed_line_among_good_ones_is_reported_and_the_rest_is_counted(tmp_path):
    report = check_rows(tmp_path, with_rows({4: '{"messages": [{"role": "user", "content": "cut off'}, n=60))
    assert codes(report) == [(4, "invalid_json")]
    assert report.examples == 60
    assert report.tokens.total > 0


def test_every_problem_of_a_file_is_reported_in_one_run(tmp_path):
    report = check_rows(tmp_path, with_rows({2: "[1, 2]", 5: "{broken", 9: {"messages": [{"role": "user",
                                                                                        "content": "?"}]}}))
    assert codes(report) == [(2, "data_type"), (5, "invalid_json"), (9, "example_missing_assistant_message")]


def test_whitespace_only_assistant_content_is_a_warning_with_its_line(tmp_path):
    row = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "  \n "}]}
    report = check_rows(tmp_path, with_rows({3: row}, n=60))
    assert warning(report, "assistant_whitespace_only").lines == (3,)


def test_examples_without_a_user_message_are_a_warning(tmp_path):
    row = {"messages": [{"role": "system", "content": "s"}, {"role": "assistant", "content": "a"}]}
    report = check_rows(tmp_path, with_rows({8: row}, n=60))
    assert warning(report, "missing_user_message").lines == (8,)


def test_a_missing_system_message_is_a_warning_only_when_other_examples_have_one(tmp_path):
    no_system = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    mixed = check_rows(tmp_path, with_rows({6: no_system}, n=60))
    assert warning(mixed, "missing_system_message").lines == (6,)
    none_have_one = check_rows(tmp_path, [no_system] * 60, name="none.jsonl")
    assert warning(none_have_one, "missing_system_message") is None


def test_all_zero_weights_and_unknown_top_level_keys_are_warnings(tmp_path):
    zero = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "weight": 0}]}
    report = check_rows(tmp_path, with_rows({2: zero, 3: chat(3, tool=TOOLS)}, n=60))
    assert warning(report, "nothing_to_train").lines == (2,)
    assert warning(report, "unrecognized_key").lines == (3,)
    assert "'tool'" in warning(report, "unrecognized_key").message
    assert report.ok


def test_good_files_raise_no_unrecognized_key_warning(tmp_path):
    report = check_rows(tmp_path, [chat(i) for i in range(60)])
    assert report.warnings == []


# The chat check recognises the common {"role": ..., "content": "text"} message without calling check_message;
# whatever a message holds, the findings must be those of checking every message with check_message.
_texts = st.sampled_from(["Hi", " ", "\n\t", "", "<|endoftext|>", "ok", "yes"])
_plainish = st.fixed_dictionaries({"role": st.sampled_from(["system", "developer", "user", "assistant", "tool", "bot",
                                                            1, None, ["user"]]),
                                   "content": st.one_of(_texts, st.none(), st.integers(0, 1), st.lists(
                                       st.fixed_dictionaries({"type": st.just("text"), "text": _texts}), max_size=2))},
                                  optional={"weight": st.sampled_from([0, 1, 2, True, 0.0]), "name": _texts})
_messages = st.lists(st.one_of(_plainish, st.sampled_from([None, "user", 3, [], {}])), min_size=1, max_size=5)


def _checked_message_by_message(example: dict):
    """The chat rules over check_message's verdict on every message (the documented rules, unoptimised)."""
    out = ChunkResult(0)
    messages = example["messages"]
    roles = [check_message(m, 1, out.errors, f"message {i}") for i, m in enumerate(messages, 1)]
    out.shaped += 1
    assistants = [m for m, r in zip(messages, roles) if r == "assistant"]
    if not assistants:
        out.errors.add("example_missing_assistant_message", 1, "no assistant message to learn from")
    elif all(m.get("weight", 1) == 0 for m in assistants):
        out.warnings.add("nothing_to_train", 1)
    if any(is_blank_text(m.get("content")) for m in assistants):
        out.warnings.add("assistant_whitespace_only", 1)
    if "user" not in roles:
        out.warnings.add("missing_user_message", 1)
    if not {"system", "developer"}.intersection(roles):
        out.warnings.add("missing_system_message", 1)
    out.labels.add(final_answer(messages))
    return out


@settings(max_examples=300, deadline=None)
@given(messages=_messages)
def test_plain_messages_are_judged_as_check_message_judges_them(messages):
    fast, slow = ChunkResult(0), _checked_message_by_message({"messages": messages})
    chat_check({"messages": messages}, 1, fast)
    assert (fast.errors.first, fast.errors.counts) == (slow.errors.first, slow.errors.counts)
    assert (fast.warnings.first, fast.warnings.counts) == (slow.warnings.first, slow.warnings.counts)
    assert (fast.shaped, fast.labels.counts, fast.labels.long) == (slow.shaped, slow.labels.counts, slow.labels.long)
