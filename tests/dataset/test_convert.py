"""Converting examples between provider formats: round trips keep every example; what cannot be converted is a
clear error naming the line."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ftops.dataset.convert import ConvertCounts, convert_example, convert_file, detect_format
from ftops.errors import ConversionError, DatasetError
from tests.dataset.support import write_lines

# Text that can be written as UTF-8 (no lone surrogates), any other character allowed.
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), texts),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(texts, inner, max_size=3)), max_leaves=8)
objects = st.dictionaries(texts, json_values, max_size=4)
images = st.sampled_from(["data:image/png;base64,iVBORw0KGgo=", "https://example.com/cat.jpg",
                          "gs://bucket/scan.png"]).map(lambda url: {"type": "image_url", "image_url": {"url": url}})
parts = st.lists(st.one_of(texts.map(lambda t: {"type": "text", "text": t}), images), min_size=2, max_size=3)
contents = st.one_of(texts, parts)  # a one-part list comes back as a string: see the test below


@st.composite
def tool_exchange(draw, start: int) -> list[dict]:
    """An assistant turn calling 1-3 tools, then one tool message answering each call."""
    n = draw(st.integers(1, 3))
    ids = [f"call_{start}_{i}" for i in range(n)]
    names = draw(st.lists(st.sampled_from(["lookup", "refund", "weather"]), min_size=n, max_size=n))
    call = {"role": "assistant", "tool_calls": [
        {"id": i, "type": "function", "function": {"name": name, "arguments": json.dumps(draw(objects),
                                                                                       ensure_ascii=False)}}
        for i, name in zip(ids, names)]}
    if draw(st.booleans()):
        call = {"role": "assistant", "content": draw(texts), "tool_calls": call["tool_calls"]}
    answers = [{"role": "tool", "tool_call_id": i,
                "content": draw(st.one_of(texts, objects.map(lambda o: json.dumps(o, ensure_ascii=False))))}
               for i in ids]
    return [call, *answers]


@st.composite
def chat_examples(draw) -> dict:
    messages = [{"role": "system", "content": draw(texts)}] if draw(st.booleans()) else []
    for turn in range(draw(st.integers(1, 3))):
        messages.append({"role": "user", "content": draw(contents)})
        if draw(st.booleans()):
            messages.extend(draw(tool_exchange(turn)))
        messages.append({"role": "assistant", "content": draw(contents)})
    example = {"messages": messages}
    if draw(st.booleans()):
        example["tools"] = [{"type": "function", "function": {"name": name, "description": draw(texts),
                                                              "parameters": {"type": "object", "properties": {}}}}
                            for name in ("lookup", "refund")]
    return example


pc_examples = st.fixed_dictionaries({"prompt": texts, "completion": texts})
assistant = texts.map(lambda t: [{"role": "assistant", "content": t}])
dpo_examples = st.fixed_dictionaries({
    "input": st.fixed_dictionaries({"messages": st.lists(
        st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant"]), "content": texts}),
        min_size=1, max_size=4)}),
    "preferred_output": assistant, "non_preferred_output": assistant})

ROUND_TRIP = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@ROUND_TRIP
@given(example=chat_examples())
def test_chat_to_gemini_and_back_keeps_every_message(example):
    gemini = convert_example(example, "gemini")
    assert detect_format(gemini) == "gemini"
    assert convert_example(gemini, "chat") == example


@ROUND_TRIP
@given(example=pc_examples, via=st.sampled_from(["chat", "gemini"]))
def test_prompt_completion_to_chat_or_gemini_and_back(example, via):
    assert convert_example(convert_example(example, via), "prompt_completion") == example


@ROUND_TRIP
@given(example=dpo_examples)
def test_dpo_to_gemini_preference_and_back(example):
    gemini = convert_example(example, "gemini_preference")
    assert [c["score"] for c in gemini["completions"]] == [1, 0]
    assert convert_example(gemini, "dpo") == example


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(examples=st.lists(chat_examples(), min_size=1, max_size=8))
def test_a_file_round_trip_through_gemini_keeps_every_example(tmp_path, examples):
    src = write_lines(tmp_path / "chat.jsonl", examples + [""])  # a blank line at the end is skipped
    counts = convert_file(src, tmp_path / "gemini.jsonl", "gemini")
    assert counts == ConvertCounts(examples=len(examples), blank_lines=1)
    assert convert_file(tmp_path / "gemini.jsonl", tmp_path / "back.jsonl", "chat").examples == len(examples)
    back = [json.loads(line) for line in (tmp_path / "back.jsonl").read_text(encoding="utf-8").split("\n")[:-1]]
    assert back == examples


def test_the_gemini_shape_is_the_one_vertex_documents():
    example = {"messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                                               "function": {"name": "weather", "arguments": '{"city": "Paris"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": '{"celsius": 20}'},
        {"role": "assistant", "content": "20 C."}]}
    assert convert_example(example, "gemini") == {
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "contents": [
            {"role": "user", "parts": [{"text": "Weather in Paris?"}]},
            {"role": "model", "parts": [{"functionCall": {"id": "c1", "name": "weather", "args": {"city": "Paris"}}}]},
            {"role": "user", "parts": [{"functionResponse": {"id": "c1", "name": "weather",
                                                             "response": {"celsius": 20}}}]},
            {"role": "model", "parts": [{"text": "20 C."}]}]}


def test_gemini_calls_without_ids_are_matched_by_name():
    gemini = {"contents": [
        {"role": "user", "parts": [{"text": "hi"}]},
        {"role": "model", "parts": [{"functionCall": {"name": "a", "args": {}}},
                                    {"functionCall": {"name": "b", "args": {"x": 1}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "b", "response": {"ok": True}}},
                                   {"functionResponse": {"name": "a", "response": {"content": "done"}}}]},
        {"parts": [{"text": "and?"}]}]}
    messages = convert_example(gemini, "chat")["messages"]
    assert [c["id"] for c in messages[1]["tool_calls"]] == ["call_1", "call_2"]
    assert messages[2:] == [{"role": "tool", "tool_call_id": "call_2", "content": '{"ok": true}'},
                            {"role": "tool", "tool_call_id": "call_1", "content": "done"},
                            {"role": "user", "content": "and?"}]


def test_a_one_part_content_list_comes_back_as_the_same_text():
    example = {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]},
                            {"role": "assistant", "content": "hello"}]}
    assert convert_example(convert_example(example, "gemini"), "chat")["messages"][0]["content"] == "hi"


@pytest.mark.parametrize(("example", "to", "says"), [
    ({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                   {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}]},
     "prompt_completion", "only one user message followed by one assistant answer"),
    ({"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "a"},
                   {"role": "assistant", "content": "b"}]}, "prompt_completion", "(system, user, assistant)"),
    ({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b", "weight": 0}]},
     "gemini", "weight 0 has no Gemini equivalent"),
    ({"messages": [{"role": "user", "content": "a", "name": "ann"}, {"role": "assistant", "content": "b"}]},
     "gemini", "message 1: 'name' has no Gemini equivalent"),
    ({"messages": [{"role": "user", "content": "a"}, {"role": "system", "content": "late"}]},
     "gemini", "message 2: a system message after the first"),
    ({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "f", "arguments": "[1]"}}]}]},
     "gemini", "arguments must be a JSON object"),
    ({"prompt": "a", "completion": "b"}, "dpo", "a single-answer example has no dpo form"),
    ({"text": "a"}, "chat", "not an example in a known format"),
])
def test_what_cannot_be_converted_says_why(example, to, says):
    with pytest.raises(ConversionError) as caught:
        convert_example(example, to)
    assert says in caught.value.message


def test_a_file_that_cannot_be_converted_names_the_line_and_writes_nothing(tmp_path):
    rows = [{"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]}
            for i in range(3)]
    rows.insert(2, {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                                 {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}]})
    src = write_lines(tmp_path / "chat.jsonl", rows)
    with pytest.raises(DatasetError) as caught:
        convert_file(src, tmp_path / "pc.jsonl", "prompt_completion")
    assert f"{src}:3: cannot convert to prompt_completion: only one user message" in caught.value.message
    assert list(tmp_path.iterdir()) == [src]


def test_text_utf8_cannot_carry_stays_escaped_and_exact(tmp_path):
    src = tmp_path / "pc.jsonl"
    src.write_text('{"prompt": "half a pair: \\ud800", "completion": " ok"}\n', encoding="utf-8")
    convert_file(src, tmp_path / "chat.jsonl", "chat")
    (line,) = (tmp_path / "chat.jsonl").read_text(encoding="utf-8").splitlines()
    assert "\\ud800" in line and json.loads(line)["messages"][0]["content"] == "half a pair: \ud800"
