"""Legacy prompt/completion examples (babbage-002, davinci-002): ``{"prompt": str, "completion": str}``.

Besides the per-example checks, this keeps what the useful half of the old ``prepare_data`` advice needs:
the common ending of prompts (separator) and of completions (stop sequence), completions without a leading
space, and the label counts that reveal a classification task. All of it merges across chunks.
"""

from __future__ import annotations

from ftops.dataset.chat import check_unrecognized_keys

TOP_LEVEL_KEYS = frozenset({"prompt", "completion"})
SUFFIX_KEEP = 200  # characters of a common ending worth keeping
LABEL_MAX_CHARS = 64  # longer completions are not class labels
MAX_LABELS = 1000  # more distinct labels than this is not a classification task we can advise on


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
    __slots__ = ("examples", "prompt_suffix", "completion_suffix", "labels", "long_completions")

    def __init__(self) -> None:
        self.examples = 0
        self.prompt_suffix: str | None = None
        self.completion_suffix: str | None = None
        self.labels: dict[str, int] | None = {}
        self.long_completions = 0

    def add(self, prompt: str, completion: str) -> None:
        self.examples += 1
        self.prompt_suffix = common_suffix(self.prompt_suffix, prompt[-SUFFIX_KEEP:])
        self.completion_suffix = common_suffix(self.completion_suffix, completion[-SUFFIX_KEEP:])
        if len(completion) > LABEL_MAX_CHARS:
            self.long_completions += 1
        elif self.labels is not None:
            self.labels[completion] = self.labels.get(completion, 0) + 1
            if len(self.labels) > MAX_LABELS:
                self.labels = None

    def merge(self, other: PromptCompletionStats) -> None:
        self.examples += other.examples
        self.prompt_suffix = common_suffix(self.prompt_suffix, other.prompt_suffix)
        self.completion_suffix = common_suffix(self.completion_suffix, other.completion_suffix)
        self.long_completions += other.long_completions
        if self.labels is not None and other.labels is not None:
            for label, n in other.labels.items():
                self.labels[label] = self.labels.get(label, 0) + n
            if len(self.labels) > MAX_LABELS:
                self.labels = None
        else:
            self.labels = None

    def classes(self) -> dict[str, int] | None:
        """Per-class counts when this looks like classification (few distinct, short completions)."""
        if self.labels is None or self.long_completions or self.examples < 2:
            return None
        return self.labels if len(self.labels) < max(2, self.examples / 3) else None


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
