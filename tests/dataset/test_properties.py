"""Whatever a JSONL file holds, checking it yields a report, never an exception."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ftops.dataset import FileReport
from tests.dataset.support import check_file

KEYS = ["messages", "role", "content", "name", "weight", "tool_calls", "tool_call_id", "function_call", "tools",
        "parallel_tool_calls", "functions", "type", "text", "image_url", "url", "function", "arguments", "id",
        "prompt", "completion", "input", "preferred_output", "non_preferred_output", "reference"]
ROLES = ["system", "developer", "user", "assistant", "tool", "function", "bot"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=False),
                    st.sampled_from(ROLES + ["", " ", "text", "function"]), st.text(max_size=20))
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)), max_leaves=25)
lines = st.one_of(
    json_values.map(json.dumps),
    st.dictionaries(st.sampled_from(KEYS), json_values, max_size=4).map(json.dumps),
    st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"").decode("latin-1")),
    st.text(max_size=40).map(lambda t: t.replace("\n", " ")),
)


# Well-shaped rows whose messages hold any JSON at any key (a role that is a list, an object, a number, ...).
any_keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=8))
messages = st.lists(st.one_of(
    st.fixed_dictionaries({"role": json_values, "content": json_values}),
    st.dictionaries(any_keys, json_values, max_size=5)), min_size=1, max_size=4)
shaped_rows = st.one_of(
    st.fixed_dictionaries({"messages": messages}, optional={"tools": json_values, "functions": json_values}),
    st.fixed_dictionaries({"input": st.fixed_dictionaries({"messages": messages}, optional={"tools": json_values}),
                           "preferred_output": messages, "non_preferred_output": messages}),
    st.fixed_dictionaries({"prompt": json_values, "completion": json_values}),
)


def _check(raw_lines: list[str], method: str, model: str | None) -> FileReport:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.jsonl"
        path.write_text("\n".join(raw_lines), encoding="utf-8", errors="surrogateescape")
        return check_file(path, method=method, model=model, cache_dir=Path(tmp) / ".ftops")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw_lines=st.lists(lines, max_size=15), method=st.sampled_from(["supervised", "dpo", "reinforcement"]),
       model=st.sampled_from([None, "gpt-4o-mini", "babbage-002", "o4-mini"]))
def test_any_lines_give_a_report(raw_lines, method, model):
    report = _check(raw_lines, method, model)
    assert isinstance(report, FileReport)
    assert report.examples == sum(1 for line in raw_lines if line.strip(" \t\r\x0b\x0c"))
    assert all(f.line is None or 1 <= f.line <= len(raw_lines) for f in report.errors)
    json.dumps(report.to_json())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(shaped_rows, min_size=1, max_size=6),
       method=st.sampled_from(["supervised", "dpo", "reinforcement"]))
def test_messages_holding_any_json_at_any_key_give_a_report(rows, method):
    report = _check([json.dumps(row) for row in rows], method, "gpt-4o-mini")
    assert report.examples == len(rows)
    assert report.tokens.total >= 0
