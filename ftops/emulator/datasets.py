"""Server-side checks of training/validation file contents, run while a job is validating.

Deliberately modest (ftops has its own, richer client-side checker): JSON per line, the row shape the
method and base model need, at least 10 training examples, and no example shared between the training and
validation files. A file is read line by line and only its totals are kept (memory does not grow with it); an
example over the model's per-example limit is not an error: as OpenAI documents, it is truncated (the job bills at
most the limit for it). ``ftops/emulator/validation.py`` runs these checks once per file, outside the state lock.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import orjson

from ftops import tokens
from ftops.catalog import ModelInfo
from ftops.dataset.index import example_hash  # the checker's notion of "the same example"

MIN_EXAMPLES = 10


class FileProblem(Exception):
    def __init__(self, message: str, param: str, code: str):
        super().__init__(message)
        self.error = {"code": code, "message": message, "param": param}


@dataclass(frozen=True)
class Summary:
    """What a job needs of a checked file: its examples and tokens, each example counted up to ``limit``."""

    examples: int
    tokens: int  # tokens per epoch
    over: int  # examples over the limit (truncated to it)


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


def _parse(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:  # what the stdlib also reads (NaN, huge integers, a BOM), or its error
        return json.loads(raw)


def scan(path: Path, *, param: str, method: str, info: ModelInfo, limit: int | None, count: bool = True,
         visit: Callable[[int, dict], None] | None = None) -> Summary:
    """Check one file, line by line, for a job on the base model ``info``; raise ``FileProblem`` naming the first
    bad line. ``visit(line, example)`` sees every good example; ``count=False`` skips counting tokens."""
    base = info.name
    prompt_completion = "prompt_completion" in info.formats
    enc = tokens.get_encoding(info.encoding)
    code = f"invalid_{param}"
    label = param.replace("_", " ")
    examples = total = over = 0
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                example = _parse(raw)
            except (ValueError, UnicodeDecodeError, RecursionError):
                raise FileProblem(f"Invalid {label}: line {number} is not valid JSON (or is nested too deeply).",
                                  param, code) from None
            if not isinstance(example, dict):
                raise FileProblem(f"Invalid {label}: line {number} is not a JSON object.", param, code)
            problem = _shape_problem(example, method, prompt_completion)
            if problem:
                raise FileProblem(f"Invalid {label} format for {method} fine-tuning of {base}: line {number}: "
                                  f"{problem}.", param, code)
            if count:
                try:
                    n = tokens.count_example(example, enc)
                except RecursionError:
                    raise FileProblem(f"Invalid {label}: line {number} is nested too deeply.", param, code) from None
                total += min(n, limit or n)
                over += 1 if limit and n > limit else 0
            if visit is not None:
                visit(number, example)
            examples += 1
    return Summary(examples=examples, tokens=total, over=over)


class Overlap:
    """The validation examples that also appear in the training file: the validation file's example hashes are
    collected first (memory in proportion to the validation file only), then the training file is matched."""

    def __init__(self) -> None:
        self._lines: dict[int, tuple[int, int]] = {}  # example hash -> (first validation line, how many lines)
        self._shared: set[int] = set()

    def collect(self, number: int, example: dict) -> None:
        h = example_hash(example)
        first, n = self._lines.get(h, (number, 0))
        self._lines[h] = (first, n + 1)

    def match(self, number: int, example: dict) -> None:
        h = example_hash(example)
        if h in self._lines:
            self._shared.add(h)

    def result(self) -> tuple[int, int | None]:
        """(validation lines shared with the training file, the first of them)."""
        found = [self._lines[h] for h in self._shared]
        return sum(n for _, n in found), min((first for first, _ in found), default=None)


def too_few(examples: int, min_examples: int) -> FileProblem:
    return FileProblem(f"Training file has {examples} example(s), but it must contain at least {min_examples} "
                       "examples.", "training_file", "invalid_n_examples")


def shared_problem(shared: int, first: int | None) -> FileProblem:
    return FileProblem(f"The validation file shares {shared} example(s) with the training file (first on "
                       f"validation line {first}); they must not overlap.", "validation_file",
                       "invalid_validation_file")
