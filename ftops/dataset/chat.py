"""Supervised chat examples: ``{"messages": [...], "tools"?, "parallel_tool_calls"?, "functions"?}``."""

from __future__ import annotations

from ftops.dataset.labels import final_answer
from ftops.dataset.messages import SYSTEM_ROLES, check_messages, check_tools, is_blank_text

TOP_LEVEL_KEYS = frozenset({"messages", "tools", "parallel_tool_calls", "functions"})


def check_unrecognized_keys(example: dict, allowed: frozenset[str], line: int, out) -> None:
    if example.keys() <= allowed:
        return
    out.warnings.add("unrecognized_key", line, ", ".join(repr(k) for k in example if k not in allowed))


def check(example: dict, line: int, out) -> None:
    messages = example.get("messages")
    if not isinstance(messages, list) or not messages:
        out.errors.add("missing_messages_list", line, "no non-empty 'messages' list")
        return
    if len(example) > 1:
        check_unrecognized_keys(example, TOP_LEVEL_KEYS, line, out)
        check_tools(example, line, out.errors)
    roles = check_messages(messages, line, out.errors)
    out.shaped += 1
    assistants = [m for m, r in zip(messages, roles) if r == "assistant"]
    if not assistants:
        out.errors.add("example_missing_assistant_message", line, "no assistant message to learn from")
    elif all(m.get("weight", 1) == 0 for m in assistants):
        out.warnings.add("nothing_to_train", line)
    if any(is_blank_text(m.get("content")) for m in assistants):
        out.warnings.add("assistant_whitespace_only", line)
    if "user" not in roles:
        out.warnings.add("missing_user_message", line)
    if not SYSTEM_ROLES.intersection(roles):
        out.warnings.add("missing_system_message", line)
    out.labels.add(final_answer(messages))
