"""Server-side checks of training/validation file contents, run while a job is validating.

Deliberately modest (ftops has its own, richer client-side checker): JSON per line, the row shape the
method and base model need, at least 10 training examples, and no example shared between the training and
validation files. Returns the job's error or the token counts; an example over the model's per-example limit is
not an error: as OpenAI documents, it is truncated (the job bills at most the limit for it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ftops import tokens
from ftops.catalog import ModelInfo
from ftops.dataset.index import example_hash  # the checker's notion of "the same example"

MIN_EXAMPLES = 10


class FileProblem(Exception):
    def __init__(self, message: str, param: str, code: str):
        super().__init__(message)
        self.error = {"code": code, "message": message, "param": param}


@dataclass(frozen=True)
class Dataset:
    examples: list[tuple[int, dict]]  # (line number, example)
    tokens: list[int]


def _messages_problem(messages) -> str | None:
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        return "chat rows need a non-empty 'messages' list of message objects"
    if not all(isinstance(m.get("role"), str) for m in messages):
        return "every message needs a string 'role'"
    return None


def _shape_problem(example: dict, method: str, prompt_completion: bool) -> str | None:
    if prompt_completion:
        if not (isinstance(example.get("prompt"), str) and isinstance(example.get("completion"), str)):
            return "this model needs prompt/completion rows: {\"prompt\": str, \"completion\": str}"
        return None
    if method == "dpo":
        inp = example.get("input")
        if not (isinstance(inp, dict) and isinstance(inp.get("messages"), list)
                and all(isinstance(example.get(k), list) and example[k]
                        for k in ("preferred_output", "non_preferred_output"))):
            return "DPO rows need 'input' {messages}, 'preferred_output' and 'non_preferred_output'"
        return _messages_problem(inp["messages"])
    messages = example.get("messages")
    problem = _messages_problem(messages)
    if problem:
        return problem
    if method == "supervised" and not any(m.get("role") == "assistant" for m in messages or ()):
        return "the example has no assistant message to train on"
    return None


def load(content: bytes, *, param: str, method: str, info: ModelInfo) -> Dataset:
    """Parse and check one file for a job on the base model ``info``; raise ``FileProblem`` naming the first bad
    line."""
    base = info.name
    prompt_completion = "prompt_completion" in info.formats
    enc = tokens.get_encoding(info.encoding)
    code = f"invalid_{param}"
    label = param.replace("_", " ")
    examples: list[tuple[int, dict]] = []
    counts: list[int] = []
    for number, raw in enumerate(content.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            example = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise FileProblem(f"Invalid {label}: line {number} is not valid JSON (or is nested too deeply).",
                              param, code) from None
        if not isinstance(example, dict):
            raise FileProblem(f"Invalid {label}: line {number} is not a JSON object.", param, code)
        problem = _shape_problem(example, method, prompt_completion)
        if problem:
            raise FileProblem(f"Invalid {label} format for {method} fine-tuning of {base}: line {number}: "
                              f"{problem}.", param, code)
        try:
            count = tokens.count_example(example, enc)
        except RecursionError:
            raise FileProblem(f"Invalid {label}: line {number} is nested too deeply.", param, code) from None
        examples.append((number, example))
        counts.append(count)
    return Dataset(examples=examples, tokens=counts)


def check(training: bytes, validation: bytes | None, *, method: str, info: ModelInfo,
          min_examples: int = MIN_EXAMPLES) -> Dataset:
    """The training dataset, or ``FileProblem`` with the job error the provider would report."""
    train = load(training, param="training_file", method=method, info=info)
    if len(train.examples) < min_examples:
        raise FileProblem(f"Training file has {len(train.examples)} example(s), but it must contain at least "
                          f"{min_examples} examples.", "training_file", "invalid_n_examples")
    if validation is not None:
        valid = load(validation, param="validation_file", method=method, info=info)
        seen = {example_hash(example) for _, example in train.examples}
        shared = [number for number, example in valid.examples if example_hash(example) in seen]
        if shared:
            raise FileProblem(f"The validation file shares {len(shared)} example(s) with the training file "
                              f"(first on validation line {shared[0]}); they must not overlap.",
                              "validation_file", "invalid_validation_file")
    return train
