"""Reinforcement fine-tuning examples: ``{"messages": [...], "tools"?, ...reference fields the grader reads}``.

The messages are the prompt; the model writes the answer, and the grader compares it with the reference fields.
"""

from __future__ import annotations

from ftops.dataset.messages import check_messages, check_tools

PROMPT_ROLES = frozenset({"user", "developer", "system"})
NON_REFERENCE_KEYS = frozenset({"messages", "tools", "parallel_tool_calls", "functions"})


def check(example: dict, line: int, out) -> None:
    messages = example.get("messages")
    if not isinstance(messages, list) or not messages:
        out.errors.add("missing_messages_list", line, "no non-empty 'messages' list")
        return
    check_tools(example, line, out.errors)
    roles = check_messages(messages, line, out.errors)
    out.shaped += 1
    if not PROMPT_ROLES.intersection(roles):
        out.errors.add("rft_missing_prompt", line, "no user, developer or system message for the model to answer")
    if roles[-1] == "assistant":
        out.warnings.add("rft_ends_with_assistant", line)
    if all(k in NON_REFERENCE_KEYS for k in example):
        out.warnings.add("rft_no_reference_fields", line)
