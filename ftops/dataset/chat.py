"""Supervised chat examples: ``{"messages": [...], "tools"?, "parallel_tool_calls"?, "functions"?}``."""

from __future__ import annotations

from typing import Any

from ftops.dataset.labels import final_answer
from ftops.dataset.messages import PLAIN_ROLES, SYSTEM_ROLES, check_message, check_tools, is_blank_text

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
    # One pass over the messages. The common {"role": "user", "content": "text"} is recognised inline (as
    # messages._plain_role does): hundreds of thousands of examples of a few messages each go through here.
    user = system = assistant = trains = blank = plain = False
    role: str | None = None
    content: Any = None
    for i, msg in enumerate(messages, 1):
        if (type(msg) is dict and len(msg) == 2 and type(content := msg.get("content")) is str and content
                and type(role := msg.get("role")) is str and role in PLAIN_ROLES):
            plain = True
        else:
            plain, role = False, check_message(msg, line, out.errors, f"message {i}")
        if role == "assistant":
            assistant = True
            if plain:  # no weight; the content is a non-empty string
                trains = True
                blank = blank or content.isspace()
            else:
                trains = trains or msg.get("weight", 1) != 0
                blank = blank or is_blank_text(msg.get("content"))
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
    out.labels.add(content if plain and role == "assistant" else final_answer(messages))
