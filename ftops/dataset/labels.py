"""Answers counted as class labels, to recognise classification data (few distinct, short answers).

The answer of an example is the completion of a prompt/completion example, or the last message of a chat example
when it is the assistant's text. Counted per chunk and merged in file order; a file with long answers, or with
more distinct answers than a classifier has classes, is not classification and stops being counted.
"""

from __future__ import annotations

from typing import Any

LABEL_MAX_CHARS = 64  # longer answers are not class labels
MAX_LABELS = 1000  # more distinct labels than this is not a classification task we can advise on


class Labels:
    __slots__ = ("examples", "counts", "long")

    def __init__(self) -> None:
        self.examples = 0
        self.counts: dict[str, int] | None = {}  # None once this cannot be classification
        self.long = 0  # answers that cannot be labels (too long, or not text)

    def add(self, answer: str | None) -> None:
        self.examples += 1
        if answer is None or len(answer) > LABEL_MAX_CHARS:
            self.long += 1
        elif self.counts is not None:
            self.counts[answer] = self.counts.get(answer, 0) + 1
            if len(self.counts) > MAX_LABELS:
                self.counts = None

    def merge(self, other: Labels) -> None:
        self.examples += other.examples
        self.long += other.long
        if self.counts is None or other.counts is None:
            self.counts = None
            return
        for label, n in other.counts.items():
            self.counts[label] = self.counts.get(label, 0) + n
        if len(self.counts) > MAX_LABELS:
            self.counts = None

    def classes(self) -> dict[str, int] | None:
        """Per-class counts when this looks like classification: every answer short, at least two distinct
        ones, and few of them for the number of examples."""
        if self.counts is None or self.long or self.examples < 2:
            return None
        return self.counts if 2 <= len(self.counts) < max(3, self.examples / 3) else None


def final_answer(messages: list) -> str | None:
    """The text of the last message when the assistant speaks last; None otherwise (a tool call, an image)."""
    last: Any = messages[-1] if messages else None
    if not isinstance(last, dict) or last.get("role") != "assistant":
        return None
    content = last.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, dict) and p.get("type") == "text" for p in content):
        texts = [p.get("text") for p in content]
        return "".join(texts) if all(isinstance(t, str) for t in texts) else None
    return None
