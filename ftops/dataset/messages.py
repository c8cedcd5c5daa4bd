"""Checks of chat messages and tool definitions, shared by the chat, DPO and reinforcement formats.

Each check records an error in the tally (``errors.add(code, line, detail)``) and never raises.
"""

from __future__ import annotations

from typing import Any

from ftops.dataset.tally import Tally

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
MESSAGE_KEYS = frozenset({"role", "content", "name", "weight", "function_call", "tool_calls", "tool_call_id"})
SYSTEM_ROLES = frozenset({"system", "developer"})
PLAIN_ROLES = frozenset({"system", "developer", "user", "assistant"})


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def content_problem(content: Any) -> str | None:
    """Why ``content`` is not usable text (a non-empty string or a list of content parts), or None."""
    if isinstance(content, str):
        return None if content else "is empty"
    if not isinstance(content, list):
        return f"must be a string or a list of content parts, not {_type_name(content)}"
    if not content:
        return "is an empty list of parts"
    for i, part in enumerate(content, 1):
        kind = part.get("type") if isinstance(part, dict) else None
        if not isinstance(kind, str):
            return f"part {i} is not an object with a string 'type'"
        if kind == "text" and not isinstance(part.get("text"), str):
            return f"part {i} (text) has no string 'text'"
        if kind == "image_url" and not (isinstance(part.get("image_url"), dict)
                                        and isinstance(part["image_url"].get("url"), str)):
            return f"part {i} (image_url) has no image_url.url"
    return None


def _is_function_call(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("name"), str) and isinstance(value.get("arguments"), str)


def _tool_calls_problem(calls: Any) -> str | None:
    if not isinstance(calls, list) or not calls:
        return "tool_calls must be a non-empty list"
    for i, call in enumerate(calls, 1):
        if not (isinstance(call, dict) and isinstance(call.get("id"), str) and call.get("type") == "function"
                and _is_function_call(call.get("function"))):
            return f"tool call {i} needs id, type 'function' and function {{name, arguments (a JSON string)}}"
    return None


def _check_assistant_fields(msg: dict, line: int, errors: Tally, where: str) -> bool:
    """Checks weight, tool_calls and function_call; returns whether the message carries a call."""
    if "weight" in msg and (msg["weight"] not in (0, 1) or isinstance(msg["weight"], bool)):
        errors.add("invalid_weight", line, f"{where}: weight must be 0 or 1, not {msg['weight']!r}")
    has_call = False
    if "tool_calls" in msg:
        problem = _tool_calls_problem(msg["tool_calls"])
        if problem:
            errors.add("invalid_tool_calls", line, f"{where}: {problem}")
        has_call = True
    if "function_call" in msg:
        if not _is_function_call(msg["function_call"]):
            errors.add("invalid_function_call", line, f"{where}: function_call needs name and arguments strings")
        has_call = True
    return has_call


def _plain_role(msg: Any) -> str | None:
    """The role of the common case, ``{"role": "user", "content": "text"}``, which needs no more checks."""
    if type(msg) is dict and len(msg) == 2 and type(msg.get("content")) is str and msg["content"]:
        role = msg.get("role")
        if type(role) is str and role in PLAIN_ROLES:
            return role
    return None


def check_message(msg: Any, line: int, errors: Tally, where: str) -> str | None:
    """Check one message; returns its role when it has a known one."""
    role = _plain_role(msg)
    if role is not None:
        return role
    if not isinstance(msg, dict):
        errors.add("data_type", line, f"{where} is {_type_name(msg)}, not an object")
        return None
    role = msg.get("role")
    for key in msg:
        if key not in MESSAGE_KEYS:
            errors.add("message_unrecognized_key", line, f"{where} has unrecognized key {key!r}")
    if role is None:
        errors.add("message_missing_key", line, f"{where} has no role")
    elif type(role) is not str or role not in ROLES:
        errors.add("unrecognized_role", line, f"{where} has unrecognized role {role!r}")
        role = None
    if "name" in msg and not isinstance(msg["name"], str):
        errors.add("invalid_name", line, f"{where}: name must be a string")
    has_call = False
    if role == "assistant":
        has_call = _check_assistant_fields(msg, line, errors, where)
    else:
        for key in ("weight", "tool_calls", "function_call"):
            if key in msg:
                errors.add(f"invalid_{key}", line, f"{where}: {key} is only allowed on assistant messages")
    if role == "tool" and not isinstance(msg.get("tool_call_id"), str):
        errors.add("message_missing_key", line, f"{where}: a tool message needs a string tool_call_id")
    if role == "function" and not isinstance(msg.get("name"), str):
        errors.add("message_missing_key", line, f"{where}: a function message needs a name")
    content = msg.get("content")
    if has_call and content is None:
        return role
    if "content" not in msg:
        errors.add("message_missing_key", line, f"{where} has no content")
    else:
        problem = content_problem(content)
        if problem:
            errors.add("missing_content", line, f"{where}: content {problem}")
    return role


def check_messages(messages: list, line: int, errors: Tally, prefix: str = "") -> list[str | None]:
    """Check every message of a list; returns the roles, in order (None for a message without a valid role)."""
    return [_plain_role(m) or check_message(m, line, errors, f"{prefix}message {i}") for i, m in enumerate(messages, 1)]


def check_tools(example: dict, line: int, errors: Tally) -> None:
    """Top-level ``tools``, ``parallel_tool_calls`` and legacy ``functions`` of a chat-like example."""
    if "tools" in example:
        tools = example["tools"]
        if not isinstance(tools, list) or not all(
                isinstance(t, dict) and t.get("type") == "function" and isinstance(t.get("function"), dict)
                and isinstance(t["function"].get("name"), str) for t in tools):
            errors.add("invalid_tools", line, "tools must be a list of {type: 'function', function: {name, ...}}")
    if "parallel_tool_calls" in example and not isinstance(example["parallel_tool_calls"], bool):
        errors.add("invalid_parallel_tool_calls", line, "parallel_tool_calls must be true or false")
    if "functions" in example:
        functions = example["functions"]
        if not isinstance(functions, list) or not all(
                isinstance(f, dict) and isinstance(f.get("name"), str) for f in functions):
            errors.add("invalid_functions", line, "functions must be a list of {name, ...}")


def is_blank_text(content: Any) -> bool:
    """Content that is present but only whitespace (string, or text parts that are all whitespace)."""
    if isinstance(content, str):
        return bool(content) and not content.strip()
    if isinstance(content, list) and content and all(isinstance(p, dict) for p in content):
        texts = [p.get("text") for p in content]
        return all(isinstance(t, str) for t in texts) and not "".join(texts).strip() and any(texts)
    return False
