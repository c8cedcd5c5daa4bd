"""Offline token counting: the one counter used by dataset checks, cost estimates and the local emulator.

The BPE rank files ship as package data (``ftops/data/encodings/*.tiktoken.gz``). tiktoken would fetch them over
the network; instead we verify each file against the hash tiktoken itself expects and seed a private
``TIKTOKEN_CACHE_DIR`` under the names tiktoken looks for, so tiktoken's own loader (and its hash check) reads
them and never touches the network.

Per-example counts follow the documented estimate people already use (OpenAI cookbook):
``3 + sum over messages of (3 + tokens of every value + 1 if the message has a name)``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tempfile
import threading
from functools import lru_cache
from importlib import resources
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when a tokenizer is first needed: a warm plan counts no tokens
    import tiktoken


# encoding name -> (url tiktoken fetches, sha256 tiktoken expects); from tiktoken_ext/openai_public.py
_ENCODINGS = {
    "o200k_base": ("https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
                   "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"),
    "cl100k_base": ("https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
                    "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"),
}
_LOCK = threading.Lock()

# Message keys whose values are not text the model reads.
_NON_TEXT_KEYS = frozenset({"weight"})

# Image and audio content parts are not text the model reads: their URL or base64 data is never tokenized. Each
# counts a fixed ESTIMATE instead: 85 tokens, OpenAI's vision price of a low-detail image (the base tile cost; a
# high-detail image costs more per 512-px tile, which the part does not tell us without decoding the image).
# Audio parts count the same figure. The real bill for media-heavy files may be higher.
MEDIA_PART_TOKENS = 85
_MEDIA_PARTS = frozenset({"image_url", "input_image", "input_audio"})

# Texts longer than this are counted in pieces (see _pieces): a 100 MB value must not become a 25M-item list.
_PIECE = 1 << 20
_PIECE_SLACK = 1 << 16
# Roles, system prompts and tool definitions repeat across a file: their counts are remembered (bounded).
_REPEATED_ROLES = frozenset({"system", "developer"})
_MEMO: dict[tuple[str, str], int] = {}
_MEMO_SIZE = 512
_MEMO_MAX_CHARS = 32_768


def _cache_dir() -> Path:
    root = os.environ.get("FTOPS_CACHE_DIR")
    if root:
        return Path(root) / "tiktoken"
    home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return home / "ftops" / "tiktoken"


def _seed(cache: Path, name: str) -> None:
    url, expected = _ENCODINGS[name]
    target = cache / hashlib.sha1(url.encode()).hexdigest()
    import tiktoken.load

    if target.exists() and tiktoken.load.check_hash(target.read_bytes(), expected):
        return
    packed = resources.files("ftops").joinpath(f"data/encodings/{name}.tiktoken.gz").read_bytes()
    data = gzip.decompress(packed)
    if not tiktoken.load.check_hash(data, expected):
        raise RuntimeError(f"the packaged {name} rank file does not match its sha256; reinstall ftops")
    cache.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache, prefix=".seed-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, target)


@lru_cache(maxsize=None)
def get_encoding(name: str) -> tiktoken.Encoding:
    """Load an encoding from package data, hash-checked, without network access."""
    if name not in _ENCODINGS:
        raise ValueError(f"unknown encoding {name!r}; known: {', '.join(sorted(_ENCODINGS))}")
    import tiktoken

    with _LOCK:
        cache = _cache_dir()
        try:
            _seed(cache, name)
        except OSError:
            cache = Path(tempfile.gettempdir()) / f"ftops-tiktoken-{os.getuid()}"
            _seed(cache, name)
        saved = os.environ.get("TIKTOKEN_CACHE_DIR")
        os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
        try:
            return tiktoken.get_encoding(name)
        finally:
            if saved is None:
                os.environ.pop("TIKTOKEN_CACHE_DIR", None)
            else:
                os.environ["TIKTOKEN_CACHE_DIR"] = saved


def _text_of(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def _is_media(part: dict) -> bool:
    kind = part.get("type")
    return type(kind) is str and kind in _MEDIA_PARTS


def _count_parts(value: Any, enc: tiktoken.Encoding) -> int | None:
    """Tokens of a list of content parts that holds text or media parts (text parts as their text, media parts
    as the estimate, others as their JSON), or None when ``value`` is not such a list (tool calls, for one)."""
    if not (isinstance(value, list) and value and all(isinstance(p, dict) for p in value)):
        return None
    media = sum(1 for p in value if _is_media(p))
    texts = [p["text"] for p in value if not _is_media(p) and isinstance(p.get("text"), str)]
    others = [p for p in value if not _is_media(p) and not isinstance(p.get("text"), str)]
    if others and not media:
        return None
    return (media * MEDIA_PART_TOKENS + count_text("".join(texts), enc)
            + sum(count_text(_text_of(p), enc) for p in others))


def _count_value(value: Any, enc: tiktoken.Encoding) -> int:
    """Tokens of a message value or prompt/completion: text, content parts or any other JSON."""
    parts = _count_parts(value, enc)
    return parts if parts is not None else count_text(_text_of(value), enc)


def _pieces(text: str) -> Iterator[str]:
    """Cut a long text before a space that starts a word (where the tokenizer splits anyway), so no token list
    of more than about _PIECE characters is ever built; hard cuts only inside a word-free stretch."""
    start = 0
    while len(text) - start > _PIECE:
        cut = start + _PIECE
        while cut < len(text) and cut - start < _PIECE + _PIECE_SLACK:
            cut = text.find(" ", cut)
            if cut < 0:
                cut = len(text)
            elif text[cut - 1].isalnum() and cut + 1 < len(text) and text[cut + 1].isalpha():
                break
            else:
                cut += 1
        cut = min(cut, start + _PIECE + _PIECE_SLACK)
        yield text[start:cut]
        start = cut
    yield text[start:]


def count_text(text: str, enc: tiktoken.Encoding) -> int:
    if len(text) <= _PIECE:
        return len(enc.encode_ordinary(text))
    return sum(len(enc.encode_ordinary(piece)) for piece in _pieces(text))


def _count_repeated(text: str, enc: tiktoken.Encoding) -> int:
    """count_text for texts that recur across examples (system prompts, tool definitions)."""
    if len(text) > _MEMO_MAX_CHARS:
        return count_text(text, enc)
    key = (enc.name, text)
    n = _MEMO.get(key)
    if n is None:
        if len(_MEMO) >= _MEMO_SIZE:
            _MEMO.clear()
        n = _MEMO[key] = count_text(text, enc)
    return n


def count_messages(messages: list, enc: tiktoken.Encoding) -> int:
    total = 3
    for message in messages:
        total += 3
        if not isinstance(message, dict):
            total += _count_value(message, enc)
            continue
        role = message.get("role")
        repeated = type(role) is str and role in _REPEATED_ROLES
        for key, value in message.items():
            if key in _NON_TEXT_KEYS:
                continue
            if type(value) is not str:
                total += _count_value(value, enc)
            elif repeated or key == "role":
                total += _count_repeated(value, enc)
            else:
                total += count_text(value, enc)
            if key == "name":
                total += 1
    return total


def count_example(example: dict, enc: tiktoken.Encoding) -> int:
    """Tokens in one training example of any accepted format (chat, prompt/completion, DPO, reinforcement)."""
    if "messages" in example and isinstance(example["messages"], list):
        total = count_messages(example["messages"], enc)
        for extra in ("tools", "functions"):
            if extra in example:
                total += _count_repeated(_text_of(example[extra]), enc)
        return total
    if "input" in example and isinstance(example.get("input"), dict):
        inp = example["input"]
        messages = inp.get("messages")
        total = count_messages(messages if isinstance(messages, list) else [], enc)
        if "tools" in inp:
            total += _count_repeated(_text_of(inp["tools"]), enc)
        for key in ("preferred_output", "non_preferred_output"):
            out = example.get(key)
            if isinstance(out, list):
                total += count_messages(out, enc) - 3
        return total
    if "prompt" in example or "completion" in example:
        return _count_value(example.get("prompt"), enc) + _count_value(example.get("completion"), enc)
    return count_text(_text_of(example), enc)
