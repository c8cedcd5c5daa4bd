"""The eval's held-out examples: the spec's ``eval.data`` or its validation file, checked as training data is
(``ftops.dataset.check_file``), read into cases: what the model is asked (chat messages up to the last assistant
message, or a prompt) and the answer expected (that assistant message, or the completion; DPO rows: the preferred
output). Token counts (for the plan's estimate) are cached by content under ``.ftops/eval/``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ftops import tokens
from ftops.catalog import ModelInfo
from ftops.eval import EvalError

CACHE_VERSION = 1


@dataclass(frozen=True)
class Case:
    line: int
    expected: str
    messages: tuple[dict[str, Any], ...] | None = None
    prompt: str | None = None
    prompt_tokens: int = 0
    expected_tokens: int = 0

    @property
    def input(self) -> Any:
        return list(self.messages) if self.messages is not None else self.prompt


@dataclass(frozen=True)
class EvalData:
    rel: str
    sha256: str
    cases: tuple[Case, ...]

    @property
    def prompt_tokens(self) -> int:
        return sum(c.prompt_tokens for c in self.cases)

    @property
    def expected_tokens(self) -> int:
        return sum(c.expected_tokens for c in self.cases)

    def record(self) -> dict[str, Any]:
        return {"path": self.rel, "sha256": self.sha256, "examples": len(self.cases)}


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(p.get("text", "") for p in value if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def case_of(example: Any, line: int) -> tuple[tuple[dict[str, Any], ...] | None, str | None, str] | None:
    """(messages, prompt, expected) of one example, or None when it holds no expected answer."""
    if not isinstance(example, dict):
        return None
    if isinstance(example.get("prompt"), str) and isinstance(example.get("completion"), str):
        return None, example["prompt"], example["completion"]
    if isinstance(example.get("input"), dict):
        preferred = example.get("preferred_output")
        messages = example["input"].get("messages")
        if isinstance(messages, list) and isinstance(preferred, list) and preferred and \
                isinstance(preferred[-1], dict):
            return tuple(m for m in messages if isinstance(m, dict)), None, _text(preferred[-1].get("content"))
        return None
    messages = example.get("messages")
    if not isinstance(messages, list):
        return None
    messages = [m for m in messages if isinstance(m, dict)]
    last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=None)
    if not last:
        return None
    return tuple(messages[:last]), None, _text(messages[last].get("content"))


def load(path: Path, rel: str, *, method: str, info: ModelInfo | None, cache_dir: Path | None) -> EvalData:
    """The cases of ``path``; EvalError naming the lines when it has errors or no expected answers."""
    from ftops.dataset import check_file

    report = check_file(path, info=info, method=method, cache_dir=cache_dir, role="validation", min_examples=1)
    if report.errors:
        shown = "; ".join(f"line {f.line}: {f.message}" if f.line else f.message for f in report.errors[:3])
        raise EvalError(f"{rel}: the eval data has {len(report.errors)} error(s): {shown}",
                        hint=f"check it with `ftops data check {rel}`")
    cached = _cached(cache_dir, report.sha256, info)
    enc = tokens.get_encoding(info.encoding if info else "o200k_base")
    cases: list[Case] = []
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            found = case_of(json.loads(raw), number)
            if found is None:
                raise EvalError(f"{rel}: line {number} has no expected answer to compare with (an assistant "
                                "message, a completion or a preferred output)")
            messages, prompt, expected = found
            if cached is not None and len(cases) < len(cached):
                counts = cached[len(cases)]
            else:
                counts = (tokens.count_messages(list(messages), enc) if messages is not None else
                          tokens.count_text(prompt or "", enc), tokens.count_text(expected, enc))
            cases.append(Case(number, expected, messages, prompt, counts[0], counts[1]))
    if not cases:
        raise EvalError(f"{rel}: the eval data holds no examples")
    _store(cache_dir, report.sha256, info, [(c.prompt_tokens, c.expected_tokens) for c in cases])
    return EvalData(rel, report.sha256, tuple(cases))


def _cache_file(cache_dir: Path, sha256: str, info: ModelInfo | None) -> Path:
    return cache_dir / "eval" / f"data-{sha256[:32]}-{info.encoding if info else 'o200k_base'}.json"


def _cached(cache_dir: Path | None, sha256: str, info: ModelInfo | None) -> list[tuple[int, int]] | None:
    if cache_dir is None:
        return None
    try:
        found = json.loads(_cache_file(cache_dir, sha256, info).read_text(encoding="utf-8"))
        return [tuple(pair) for pair in found["counts"]] if found.get("version") == CACHE_VERSION else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _store(cache_dir: Path | None, sha256: str, info: ModelInfo | None, counts: list[tuple[int, int]]) -> None:
    if cache_dir is None:
        return
    try:
        target = _cache_file(cache_dir, sha256, info)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps({"version": CACHE_VERSION, "counts": counts}), encoding="utf-8")
    except OSError:
        pass  # a cache: the next plan counts again
