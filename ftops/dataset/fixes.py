"""The named fixes of ``ftops data prepare``: the legacy ``prepare_data`` suggestions, each opt-in, without its bugs.

Every fix is a pure function from examples to an ``Outcome``: the examples after it, the rows it changed, and the
rows it dropped with a reason each (no row is dropped unreported). Rows are numbered as in the input, so numbers
never shift as fixes apply. Fixes run in ``ORDER``; one not asked for still runs, on a copy, to suggest itself.

Prompt/completion conventions: the separator and the stop sequence are the ones given (``--separator``,
``--stop``), else an ending every (non-empty) text already has, computed on whole words (' positive' and
' negative' share no stop sequence, where the legacy tool suggested 'tive'; a separator also needs a line break
or two visible characters, and must appear nowhere else in a prompt), else ``\\n\\n###\\n\\n`` and ``\\n``.
Nothing is appended to a text that already ends with it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import reduce
from typing import Any, Callable

from ftops import tokens
from ftops.catalog import DEFAULT_ENCODING
from ftops.dataset.advice import stop_sequence
from ftops.dataset.index import example_hash
from ftops.dataset.prompt_completion import common_suffix

DEFAULT_SEPARATOR = "\n\n###\n\n"
DEFAULT_STOP = "\n"
ANY = ("prompt_completion", "chat", "dpo")
PC = ("prompt_completion",)
_TEXT_KEYS = frozenset({"prompt", "completion", "content", "text", "arguments"})


@dataclass(frozen=True)
class Item:
    """One example and the row (line, item) of the input it came from."""

    row: int
    example: dict


@dataclass(frozen=True)
class FixSettings:
    separator: str | None = None  # --separator; None: found in the data, or DEFAULT_SEPARATOR
    stop: str | None = None  # --stop; None: found in the data, or DEFAULT_STOP
    max_tokens: int | None = None
    max_chars: int | None = None
    encoding: str = DEFAULT_ENCODING


@dataclass
class Context:
    format: str  # prompt_completion | chat | dpo
    unit: str  # row | line | item
    settings: FixSettings
    separator: str = DEFAULT_SEPARATOR
    separator_found: bool = False  # every prompt already ends with it
    stop: str = DEFAULT_STOP
    stop_found: bool = False


@dataclass
class Outcome:
    fix: str
    items: list[Item]
    changed: list[int] = field(default_factory=list)  # rows changed
    dropped: list[tuple[int, str]] = field(default_factory=list)  # rows dropped, and why
    done: str = ""  # what was done, when something was: "appended '\n' to 12 completion(s)"
    found: str = ""  # the same as a finding, for a fix not asked for: "12 completion(s) do not end with '\n'"
    note: str = ""  # worth knowing either way
    skipped: str = ""  # why the fix could not run

    @property
    def count(self) -> int:
        return len(self.changed) + len(self.dropped)


def show(text: str) -> str:
    """A separator or stop as a reader can see it: '\\n\\n###\\n\\n'."""
    return repr(text)


def _common_ending(texts: list[str]) -> str:
    return stop_sequence(reduce(common_suffix, texts, None)) if texts else ""


def context_for(items: list[Item], fmt: str, unit: str, settings: FixSettings) -> Context:
    """The separator and stop sequence the prompt/completion fixes work with (see the module docstring)."""
    ctx = Context(fmt, unit, settings)
    if fmt != "prompt_completion":
        return ctx
    prompts = [p for i in items if (p := i.example["prompt"]).strip()]
    completions = [c for i in items if (c := i.example["completion"]).strip()]
    ending = _common_ending(prompts)
    if settings.separator is not None:
        ctx.separator = settings.separator
    elif ending.strip() and (len(ending.strip()) >= 2 or "\n" in ending) and not _inside(prompts, ending):
        ctx.separator = ending
    ctx.separator_found = bool(prompts) and all(p.endswith(ctx.separator) for p in prompts)
    ending = _common_ending(completions)
    if settings.stop is not None:
        ctx.stop = settings.stop
    elif ending.strip(" \t"):  # trailing spaces in spreadsheet cells are not a stop sequence
        ctx.stop = ending
    ctx.stop_found = bool(completions) and all(c.endswith(ctx.stop) for c in completions)
    return ctx


def _split(text: str, suffix: str) -> tuple[str, str]:
    return (text[:-len(suffix)], suffix) if suffix and text.endswith(suffix) else (text, "")


def _strip_pc(example: dict, ctx: Context) -> dict:
    body, tail = _split(example["prompt"], ctx.separator)
    completion = example["completion"]
    lead = completion[:1] if completion[:1].isspace() and completion.strip() else ""
    rest, end = _split(completion[len(lead):], ctx.stop)
    return {**example, "prompt": body.strip() + tail, "completion": lead + rest.strip() + end}


def _messages(example: dict) -> list:
    if "input" in example:
        inp = example.get("input") or {}
        return [*inp.get("messages", []), *example.get("preferred_output", []),
                *example.get("non_preferred_output", [])]
    return example.get("messages", [])


def _strip_messages(example: dict) -> dict:
    out = copy.deepcopy(example)
    for message in _messages(out):
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            message["content"] = content.strip()
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    part["text"] = part["text"].strip()
    return out


def strip_whitespace(items: list[Item], ctx: Context) -> Outcome:
    strip = _strip_pc if ctx.format == "prompt_completion" else (lambda e, _: _strip_messages(e))
    out = Outcome("strip-whitespace", [])
    for item in items:
        new = strip(item.example, ctx)
        if new != item.example:
            out.changed.append(item.row)
            item = Item(item.row, new)
        out.items.append(item)
    n = len(out.changed)
    out.done = f"removed surrounding whitespace in {n:,} example(s)"
    if ctx.format == "prompt_completion":
        out.done += (f" (kept: the separator {show(ctx.separator)}, a completion's leading space, the stop "
                     f"sequence {show(ctx.stop)})")
    out.found = f"{n:,} example(s) have whitespace around a text"
    return out


def _blank(content: Any) -> bool:
    if content is None:
        return True
    if isinstance(content, str):
        return not content.strip()
    if isinstance(content, list):
        return all(isinstance(p, dict) and p.get("type") == "text" and not str(p.get("text", "")).strip()
                   for p in content)
    return False


def _empty_reason(example: dict, ctx: Context) -> str | None:
    if ctx.format == "prompt_completion":
        if not _split(example["prompt"], ctx.separator)[0].strip():
            return "empty prompt"
        return None if example["completion"].strip() else "empty completion"
    for key in ("preferred_output", "non_preferred_output"):
        if key in example and all(_blank(m.get("content")) for m in example[key] if isinstance(m, dict)):
            return f"empty {key}"
    for i, message in enumerate(_messages(example), 1):
        if isinstance(message, dict) and _blank(message.get("content")) and not (
                message.get("tool_calls") or message.get("function_call")):
            return f"empty {message.get('role')} message (message {i})"
    return None


def drop_empty(items: list[Item], ctx: Context) -> Outcome:
    out = Outcome("drop-empty", [])
    for item in items:
        reason = _empty_reason(item.example, ctx)
        if reason:
            out.dropped.append((item.row, reason))
        else:
            out.items.append(item)
    n = len(out.dropped)
    out.done = f"dropped {n:,} example(s) with an empty text"
    out.found = f"{n:,} example(s) have an empty text (the API rejects them)"
    return out


def _append(name: str, key: str, suffix: str, items: list[Item]) -> Outcome:
    out = Outcome(name, [])
    for item in items:
        text = item.example[key]
        if text.strip() and not text.endswith(suffix):
            out.changed.append(item.row)
            item = Item(item.row, {**item.example, key: text + suffix})
        out.items.append(item)
    return out


def _inside(texts: list[str], marker: str) -> int:
    return sum(1 for t in texts if marker in _split(t, marker)[0])


def prompt_separator(items: list[Item], ctx: Context) -> Outcome:
    out = _append("prompt-separator", "prompt", ctx.separator, items)
    n = len(out.changed)
    out.done = f"appended the separator {show(ctx.separator)} to {n:,} prompt(s)"
    out.found = f"{n:,} prompt(s) do not end with the separator {show(ctx.separator)}"
    if ctx.separator_found:
        out.note = f"every prompt ends with {show(ctx.separator)}: it is the separator"
    inside = _inside([i.example["prompt"] for i in out.items], ctx.separator)
    if inside:
        out.note = (f"{inside:,} prompt(s) also contain {show(ctx.separator)} before the end; choose a separator "
                    "that appears nowhere else with --separator")
    return out


def completion_leading_space(items: list[Item], ctx: Context) -> Outcome:
    out = Outcome("completion-leading-space", [])
    for item in items:
        completion = item.example["completion"]
        if completion.strip() and not completion[0].isspace():
            out.changed.append(item.row)
            item = Item(item.row, {**item.example, "completion": " " + completion})
        out.items.append(item)
    n = len(out.changed)
    out.done = f"added a leading space to {n:,} completion(s)"
    out.found = f"{n:,} completion(s) do not start with a space"
    return out


def completion_stop(items: list[Item], ctx: Context) -> Outcome:
    out = _append("completion-stop", "completion", ctx.stop, items)
    n = len(out.changed)
    out.done = f"appended the stop sequence {show(ctx.stop)} to {n:,} completion(s)"
    out.found = f"{n:,} completion(s) do not end with the stop sequence {show(ctx.stop)}"
    if ctx.stop_found:
        out.note = f"every completion ends with {show(ctx.stop)}: call the model with stop=[{show(ctx.stop)}]"
    inside = _inside([i.example["completion"] for i in out.items], ctx.stop)
    if inside:
        out.note = (f"{inside:,} completion(s) also contain {show(ctx.stop)} before the end, where the model would "
                    "stop; choose another with --stop")
    return out


def dedupe(items: list[Item], ctx: Context) -> Outcome:
    out = Outcome("dedupe", [])
    first: dict[int, int] = {}
    for item in items:
        h = example_hash(item.example)
        if h in first:
            out.dropped.append((item.row, f"same as {ctx.unit} {first[h]}"))
        else:
            first[h] = item.row
            out.items.append(item)
    n = len(out.dropped)
    out.done = f"dropped {n:,} duplicate example(s), keeping the first of each"
    out.found = f"{n:,} example(s) repeat an earlier one"
    return out


def text_chars(value: Any, key: str = "") -> int:
    """Characters of text an example holds (prompts, completions, contents, text parts, tool arguments)."""
    if isinstance(value, str):
        return len(value) if key in _TEXT_KEYS else 0
    if isinstance(value, dict):
        return sum(text_chars(v, k) for k, v in value.items())
    if isinstance(value, list):
        return sum(text_chars(v, key) for v in value)
    return 0


def drop_long(items: list[Item], ctx: Context) -> Outcome:
    s = ctx.settings
    out = Outcome("drop-long", list(items))
    if s.max_tokens is None and s.max_chars is None:
        out.skipped = "no limit: give --max-tokens N, --max-chars N or --model M"
        return out
    enc = tokens.get_encoding(s.encoding) if s.max_tokens is not None else None
    out.items = []
    for item in items:
        reason = None
        if enc is not None and s.max_tokens is not None and (n := tokens.count_example(item.example, enc)) > \
                s.max_tokens:
            reason = f"{n:,} tokens ({s.encoding}), over the limit of {s.max_tokens:,}"
        elif s.max_chars is not None and (n := text_chars(item.example)) > s.max_chars:
            reason = f"{n:,} characters, over the limit of {s.max_chars:,}"
        if reason:
            out.dropped.append((item.row, reason))
        else:
            out.items.append(item)
    n = len(out.dropped)
    out.done = f"dropped {n:,} example(s) over the length limit"
    out.found = f"{n:,} example(s) are over the length limit"
    return out


@dataclass(frozen=True)
class Fix:
    name: str
    formats: tuple[str, ...]
    run: Callable[[list[Item], Context], Outcome]
    help: str


ORDER = (
    Fix("strip-whitespace", ANY, strip_whitespace, "remove whitespace around every text"),
    Fix("drop-empty", ANY, drop_empty, "drop examples with an empty prompt, completion or message"),
    Fix("prompt-separator", PC, prompt_separator, "end every prompt with the separator (--separator)"),
    Fix("completion-leading-space", PC, completion_leading_space, "start every completion with a space"),
    Fix("completion-stop", PC, completion_stop, "end every completion with the stop sequence (--stop)"),
    Fix("dedupe", ANY, dedupe, "drop repeated examples, keeping the first"),
    Fix("drop-long", ANY, drop_long, "drop examples over --max-tokens, --max-chars or the --model's limit"),
)
NAMES = tuple(f.name for f in ORDER)


def run_fixes(items: list[Item], ctx: Context, enabled: set[str]) -> tuple[list[Item], list[Outcome], list[Outcome]]:
    """Apply the enabled fixes in ORDER; returns the examples, what each applied fix did, and the fixes not
    asked for that would change something (or have something to say), in that order."""
    applied, suggested = [], []
    for fix in ORDER:
        if ctx.format not in fix.formats:
            continue
        outcome = fix.run(items, ctx)
        if fix.name in enabled:
            items = outcome.items
            applied.append(outcome)
        elif outcome.count or outcome.note:
            suggested.append(outcome)
    return items, applied, suggested
