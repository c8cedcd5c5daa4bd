"""Preference (DPO) examples: ``{"input": {"messages", "tools"?}, "preferred_output": [assistant message],
"non_preferred_output": [assistant message]}``."""

from __future__ import annotations

from ftops.dataset.chat import check_unrecognized_keys
from ftops.dataset.messages import check_message, check_messages, check_tools

TOP_LEVEL_KEYS = frozenset({"input", "preferred_output", "non_preferred_output"})
INPUT_KEYS = frozenset({"messages", "tools", "parallel_tool_calls", "functions"})
OUTPUTS = ("preferred_output", "non_preferred_output")


def _check_output(example: dict, key: str, line: int, out) -> None:
    if key not in example:
        out.errors.add("dpo_missing_output", line, f"no {key}")
        return
    output = example[key]
    if not isinstance(output, list) or len(output) != 1:
        out.errors.add("dpo_invalid_output", line, f"{key} must be a list holding exactly one assistant message")
        return
    role = check_message(output[0], line, out.errors, f"{key} message")
    if role != "assistant" and role is not None:
        out.errors.add("dpo_invalid_output", line, f"{key} message must have role 'assistant', not {role!r}")


def check(example: dict, line: int, out) -> None:
    check_unrecognized_keys(example, TOP_LEVEL_KEYS, line, out)
    inp = example.get("input")
    if inp is None:
        out.errors.add("dpo_missing_input", line, "no 'input' object")
    elif not isinstance(inp, dict) or not isinstance(inp.get("messages"), list) or not inp["messages"]:
        out.errors.add("dpo_invalid_input", line, "'input' must be an object with a non-empty 'messages' list")
    else:
        extra = [k for k in inp if k not in INPUT_KEYS]
        if extra:
            out.errors.add("dpo_invalid_input", line, f"'input' has unrecognized keys {', '.join(map(repr, extra))}")
        check_tools(inp, line, out.errors)
        roles = check_messages(inp["messages"], line, out.errors, "input ")
        out.shaped += 1
        if "user" not in roles:
            out.warnings.add("missing_user_message", line)
    for key in OUTPUTS:
        _check_output(example, key, line, out)
    if all(k in example for k in OUTPUTS) and example[OUTPUTS[0]] == example[OUTPUTS[1]]:
        out.warnings.add("dpo_identical_outputs", line)
