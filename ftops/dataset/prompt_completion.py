"""Legacy prompt/completion examples (babbage-002, davinci-002): ``{"prompt": str, "completion": str}``.

Besides the per-example checks, this keeps what the useful half of the old ``prepare_data`` advice needs:
the common ending of prompts (separator) and of completions (stop sequence) and completions without a leading
space; the completions also go to the label counts that reveal a classification task (labels.py). All of it
merges across chunks.
"""

from __future__ import annotations

from ftops.dataset.chat import check_unrecognized_keys

TOP_LEVEL_KEYS = frozenset({"prompt", "completion"})
SUFFIX_KEEP = 200  # characters of a common ending worth keeping


def common_suffix(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return b if a is None else a
    if b.endswith(a):
        return a
    n, i = min(len(a), len(b)), 0
    while i < n and a[-1 - i] == b[-1 - i]:
        i += 1
    return a[len(a) - i:]


class PromptCompletionStats:
    __slots__ = ("examples", "prompt_suffix", "completion_suffix")

    def __init__(self) -> None:
        self.examples = 0
        self.prompt_suffix: str | None = None
        self.completion_suffix: str | None = None

    def add(self, prompt: str, completion: str) -> None:
        self.examples += 1
        self.prompt_suffix = common_suffix(self.prompt_suffix, prompt[-SUFFIX_KEEP:])
        self.completion_suffix = common_suffix(self.completion_suffix, completion[-SUFFIX_KEEP:])

    def merge(self, other: PromptCompletionStats) -> None:
        self.examples += other.examples
        self.prompt_suffix = common_suffix(self.prompt_suffix, other.prompt_suffix)
        self.completion_suffix = common_suffix(self.completion_suffix, other.completion_suffix)


def _string_field(example: dict, key: str, line: int, out) -> str | None:
    value = example.get(key)
    if isinstance(value, str):
        return value
    if key not in example:
        out.errors.add(f"missing_{key}", line, f"no {key!r}")
    else:
        out.errors.add(f"invalid_{key}", line, f"{key!r} must be a string")
    return None


def check(example: dict, line: int, out) -> None:
    check_unrecognized_keys(example, TOP_LEVEL_KEYS, line, out)
    prompt = _string_field(example, "prompt", line, out)
    completion = _string_field(example, "completion", line, out)
    if completion is None or prompt is None:
        return
    out.shaped += 1
    if not completion.strip():
        out.errors.add("empty_completion", line, "the completion is empty")
        return
    if not completion[0].isspace():
        out.warnings.add("completion_no_leading_space", line)
    out.pc.add(prompt, completion)
    out.labels.add(completion)
