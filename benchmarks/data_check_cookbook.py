"""The baseline: the OpenAI cookbook's chat-format checker as people copy it into a script.

Kept as written there (load every line, json.loads all, the format checks, cl100k_base and `encoding.encode` on
every message value, the assistant messages encoded a second time, the distributions), with one change so that it
runs to the end on today's data instead of crashing: non-string values (tool calls, content parts, null) are
encoded as their JSON. `--baseline-encoding o200k_base` (benchmarks/data_check.py) runs it with the encoding
ftops uses for gpt-4o-mini, so that the comparison is not about the encoding.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from pathlib import Path

from ftops.tokens import get_encoding

encoding = None  # loaded by check(), so that its load time counts, as it does for ftops


def _encode(value):
    return encoding.encode(value if isinstance(value, str) else json.dumps(value))


def num_tokens_from_messages(messages, tokens_per_message=3, tokens_per_name=1):
    num_tokens = 0
    for message in messages:
        num_tokens += tokens_per_message
        for key, value in message.items():
            num_tokens += len(_encode(value))
            if key == "name":
                num_tokens += tokens_per_name
    num_tokens += 3
    return num_tokens


def num_assistant_tokens_from_messages(messages):
    num_tokens = 0
    for message in messages:
        if message["role"] == "assistant":
            num_tokens += len(_encode(message["content"]))
    return num_tokens


def print_distribution(values, name):
    q = statistics.quantiles(values, n=10)
    print(f"\n#### Distribution of {name}:")
    print(f"min / max: {min(values)}, {max(values)}")
    print(f"mean / median: {statistics.mean(values)}, {statistics.median(values)}")
    print(f"p5 / p95: {q[0]}, {q[-1]}")


def check(data_path: Path, encoding_name: str = "cl100k_base") -> int:
    global encoding
    encoding = get_encoding(encoding_name)
    with open(data_path, "r", encoding="utf-8") as f:
        dataset = [json.loads(line) for line in f]
    format_errors = defaultdict(int)
    for ex in dataset:
        if not isinstance(ex, dict):
            format_errors["data_type"] += 1
            continue
        messages = ex.get("messages", None)
        if not messages:
            format_errors["missing_messages_list"] += 1
            continue
        for message in messages:
            if "role" not in message or "content" not in message:
                format_errors["message_missing_key"] += 1
            if any(k not in ("role", "content", "name", "function_call", "weight") for k in message):
                format_errors["message_unrecognized_key"] += 1
            if message.get("role", None) not in ("system", "user", "assistant", "function"):
                format_errors["unrecognized_role"] += 1
            content = message.get("content", None)
            function_call = message.get("function_call", None)
            if (not content and not function_call) or not isinstance(content, str):
                format_errors["missing_content"] += 1
        if not any(message.get("role", None) == "assistant" for message in messages):
            format_errors["example_missing_assistant_message"] += 1
    n_missing_system = n_missing_user = 0
    n_messages, convo_lens, assistant_message_lens = [], [], []
    for ex in dataset:
        messages = ex["messages"]
        if not any(message["role"] == "system" for message in messages):
            n_missing_system += 1
        if not any(message["role"] == "user" for message in messages):
            n_missing_user += 1
        n_messages.append(len(messages))
        convo_lens.append(num_tokens_from_messages(messages))
        assistant_message_lens.append(num_assistant_tokens_from_messages(messages))
    print("Num examples missing system message:", n_missing_system)
    print("Num examples missing user message:", n_missing_user)
    print_distribution(n_messages, "num_messages_per_example")
    print_distribution(convo_lens, "num_total_tokens_per_example")
    print_distribution(assistant_message_lens, "num_assistant_tokens_per_example")
    n_too_long = sum(length > 16385 for length in convo_lens)
    print(f"\n{n_too_long} examples may be over the 16,385 token limit, they will be truncated during fine-tuning")
    n_epochs = 3
    n_billing_tokens_in_dataset = sum(min(16385, length) for length in convo_lens)
    print(f"Dataset has ~{n_billing_tokens_in_dataset} tokens that will be charged for during training")
    print(f"By default, you'll train for {n_epochs} epochs on this dataset")
    print(f"By default, you'll be charged for ~{n_epochs * n_billing_tokens_in_dataset} tokens")
    return sum(convo_lens)
