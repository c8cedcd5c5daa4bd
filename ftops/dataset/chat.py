"""Supervised chat examples: ``{"messages": [...], "tools"?, "parallel_tool_calls"?, "functions"?}``."""

from __future__ import annotations

from ftops.dataset.labels import final_answer
from ftops.dataset.messages import SYSTEM_ROLES, check_message, check_tools, is_blank_text, plain_role

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
    # One pass over the messages; the common {"role": ..., "content": "text"} needs no more than a look.
    user = system = assistant = trains = blank = False
    answer: str | None = None
    for i, msg in enumerate(messages, 1):
        role = plain_role(msg)
        if role is not None:
            content = msg["content"]
        else:
            role = check_message(msg, line, out.errors, f"message {i}")
            content = msg.get("content") if isinstance(msg, dict) else None
        if role == "assistant":
            assistant = True
            trains = trains or msg.get("weight", 1) != 0
            blank = blank or is_blank_text(content)
        elif role == "user":
            user = True
        elif role in SYSTEM_ROLES:
            system = True
    out.shaped += 1
    if not assistant:
        out.errors.add("example_missing_assistant_message", line, "no assistant message to learn from")
    elif not trains:
        out.warnings.add("nothing_to_train", line)
    if blank:
        out.warnings.add("assistant_whitespace_only", line)
    if not user:
        out.warnings.add("missing_user_message", line)
    if not system:
        out.warnings.add("missing_system_message", line)
    out.labels.add(final_answer(messages))
