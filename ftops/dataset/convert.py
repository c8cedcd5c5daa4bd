"""Converting training examples between the formats providers accept: pure functions, one example at a time,
and a streaming file converter on top. Used by ``ftops data prepare`` and by providers whose format differs.

Formats (the names in ``FORMATS``):

- ``chat``: OpenAI chat, ``{"messages": [...], "tools"?}`` (also Azure OpenAI, Together, Fireworks);
- ``prompt_completion``: ``{"prompt": str, "completion": str}`` (babbage-002, davinci-002);
- ``dpo``: OpenAI preference rows, ``{"input": {"messages", "tools"?}, "preferred_output": [assistant message],
  "non_preferred_output": [assistant message]}`` (also Together and Fireworks);
- ``gemini``: Vertex AI supervised tuning, ``{"systemInstruction"?, "contents": [...], "tools"?}``;
- ``gemini_preference``: Vertex AI preference tuning, ``{"system_instruction"?, "contents": [...],
  "completions": [{"score": 1, "completion": ...}, {"score": 0, "completion": ...}]}``.

Chat is the hub: prompt/completion and Gemini rows convert through it; preference rows convert between
``dpo`` and ``gemini_preference``. A conversion keeps all of an example or raises ``ConversionError`` saying
what has no equivalent (a multi-turn chat has no prompt/completion form, a weight-0 turn has no Gemini form);
nothing is dropped quietly. See ``gemini.py`` for how chat maps onto Gemini's turns and parts.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ftops.dataset import formats, gemini
from ftops.dataset.reader import iter_lines, loads_exact, strip_view
from ftops.errors import ConversionError, DatasetError

FORMATS = ("chat", "prompt_completion", "dpo", "gemini", "gemini_preference")
SUPERVISED = ("chat", "prompt_completion", "gemini")
PREFERENCE = ("dpo", "gemini_preference")


def detect_format(example: Any) -> str:
    """The format of one example (one of FORMATS), or "unknown"."""
    if isinstance(example, dict) and "contents" in example:
        return "gemini_preference" if "completions" in example else "gemini"
    return formats.detect(example, "supervised")


def prompt_completion_to_chat(example: dict, *, system: str | None = None) -> dict:
    """``{"prompt", "completion"}`` -> a user message and an assistant answer (after ``system``, when given)."""
    extra = [k for k in example if k not in ("prompt", "completion")]
    if extra:
        raise ConversionError(f"key {extra[0]!r} has no place in a chat example")
    texts = [example.get(key) for key in ("prompt", "completion")]
    for key, text in zip(("prompt", "completion"), texts):
        if not isinstance(text, str):
            raise ConversionError(f"{key!r} must be a string")
    head = [{"role": "system", "content": system}] if system is not None else []
    return {"messages": head + [{"role": "user", "content": texts[0]}, {"role": "assistant", "content": texts[1]}]}


def chat_to_prompt_completion(example: dict) -> dict:
    """A chat example of exactly one user message and one assistant answer (plain text) -> prompt/completion."""
    extra = [k for k in example if k != "messages"]
    if extra:
        raise ConversionError(f"key {extra[0]!r} has no place in a prompt/completion example")
    messages = example.get("messages")
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise ConversionError("'messages' must be a list of message objects")
    roles = [m.get("role") for m in messages]
    if roles != ["user", "assistant"]:
        shown = ", ".join(map(str, roles)) or "none"
        raise ConversionError(f"only one user message followed by one assistant answer converts to "
                              f"prompt/completion; this example has {len(roles)} message(s) ({shown})")
    for i, message in enumerate(messages, 1):
        if set(message) != {"role", "content"} or not isinstance(message["content"], str):
            raise ConversionError(f"message {i} must hold only text content (no parts, tool calls, weight or name)")
    return {"prompt": messages[0]["content"], "completion": messages[1]["content"]}


def _to_chat(example: dict, source: str, system: str | None) -> dict:
    if source == "prompt_completion":
        return prompt_completion_to_chat(example, system=system)
    if source == "gemini":
        return gemini.gemini_to_chat(example)
    return example


def convert_example(example: Any, to: str, *, source: str | None = None, system: str | None = None) -> dict:
    """``example`` in format ``to`` (one of FORMATS). ``source`` is detected when not given; ``system`` is the
    system message given to prompt/completion examples that become chat (or Gemini). Returns the example itself
    when it is already in ``to``. Raises ConversionError when it cannot be converted."""
    if to not in FORMATS:
        raise ValueError(f"unknown format {to!r}; use one of {', '.join(FORMATS)}")
    if not isinstance(example, dict):
        raise ConversionError(f"an example is a JSON object, not {type(example).__name__}")
    source = source or detect_format(example)
    if source not in FORMATS:
        raise ConversionError("not an example in a known format (chat, prompt/completion, DPO, Gemini)")
    if source == to:
        return example
    if (source in PREFERENCE) != (to in PREFERENCE):
        kind = "a preference row (two answers)" if source in PREFERENCE else "a single-answer example"
        raise ConversionError(f"{kind} has no {to} form")
    if source == "dpo":
        return gemini.dpo_to_gemini(example)
    if source == "gemini_preference":
        return gemini.gemini_to_dpo(example)
    chat = _to_chat(example, source, system)
    if to == "prompt_completion":
        return chat_to_prompt_completion(chat)
    if to == "gemini":
        return gemini.chat_to_gemini(chat)
    return chat


@dataclass(frozen=True)
class ConvertCounts:
    examples: int  # examples read and written
    blank_lines: int  # blank lines skipped


def dump_line(example: dict) -> str:
    """One JSONL line, the way ftops writes every dataset file: key order kept, text as UTF-8 (escaped only when
    it holds a lone surrogate, which UTF-8 cannot carry but a JSON escape can)."""
    line = json.dumps(example, ensure_ascii=False) + "\n"
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(example) + "\n"
    return line


def temp_beside(target: Path) -> Path:
    """A temporary name in ``target``'s directory (same file system, so ``os.replace`` is atomic); a file opened
    there with mode "x" gets the usual permissions, unlike ``mkstemp``'s owner-only ones."""
    return target.with_name(f".{target.name}.{os.getpid()}.tmp")


def convert_file(src: Path, dst: Path, to: str, *, source: str | None = None,
                 system: str | None = None) -> ConvertCounts:
    """Convert a JSONL file line by line (one line in memory at a time) into a new file ``dst``.

    Raises DatasetError naming the line of the first example that is not JSON or cannot be converted; ``dst``
    is then not written (it appears only when every line converted). ``dst`` must not be ``src``."""
    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise DatasetError(f"{src}: no such file")
    if dst.exists() and src.exists() and os.path.samefile(src, dst):
        raise DatasetError(f"{dst}: the output would overwrite the input; choose another file")
    tmp = temp_beside(dst)
    examples = blank = 0
    try:
        with open(tmp, "x", encoding="utf-8", newline="\n") as out:
            for line, raw in enumerate(iter_lines(src), 1):
                content = strip_view(raw)
                if not content:
                    blank += 1
                    continue
                try:
                    example = loads_exact(content)
                except ValueError as exc:
                    raise DatasetError(f"{src}:{line}: not valid JSON ({exc})") from None
                try:
                    out.write(dump_line(convert_example(example, to, source=source, system=system)))
                except ConversionError as exc:
                    raise DatasetError(f"{src}:{line}: cannot convert to {to}: {exc.message}") from None
                examples += 1
        os.replace(tmp, dst)
    except OSError as exc:
        raise DatasetError(f"cannot convert {src} to {dst}: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return ConvertCounts(examples, blank)
