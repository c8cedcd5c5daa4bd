"""Inference in the neutral core: which model answers a request, and what it answers. Dialects only parse their
wire's request into a ``Prompt`` and ``Sampling`` and render the ``Answer`` in their own shape.

- A base model knows nothing of anyone's task: it answers ``BASE_ANSWER``, whatever it is asked.
- A fine-tuned model answers with the completion of the most similar example of what it was trained on: its own
  training file's examples and, for a model continued from another fine-tune, its parent's (and so on). Similarity
  is a cosine over IDF-weighted lowercase word counts, so a classifier trained on labelled data gets most held-out
  labels right. A prompt that shares no weighted word with any example gets the most frequent completion.
- Log probabilities come from the similarity scores: each distinct completion (a "label") scores the best
  similarity of its examples, and a softmax over the labels (``SHARPNESS``) gives the chosen answer's probability
  and the alternatives' (on the answer's first token, as a real model's would be).
- ``POST /_emulator/models/{id}/degrade`` ``{"strength": s}`` makes a fine-tuned model worse (``/jobs/{id}/degrade``
  the model a job is training, before it exists): for a fraction ``s`` of prompts (chosen by a hash of model and prompt, so it is repeatable) it answers the runner-up label instead,
  with the probabilities swapped to match.
- Answers are deterministic: temperature, top_p and seed are accepted and change nothing.

The parsed training examples are cached per training file (blob ids never change content), so a request does not
re-read the blobs.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Any

from ftops import tokens
from ftops.emulator import modeltable
from ftops.emulator.apierror import ApiError, bad_request, not_found
from ftops.emulator.httpio import Request
from ftops.emulator.state import Tx

BASE_ANSWER = "I'm not sure what you mean. Could you give me more details?"
SHARPNESS = 12.0  # softmax temperature over similarity scores (0..1): a clear match is near-certain
MAX_MEMORIES = 64  # parsed training files kept in memory
_WORD = re.compile(r"[a-z0-9]+")


class UnknownModel(ApiError):
    """The model does not exist (or no longer serves); dialects may render it in their own words."""

    def __init__(self, message: str):
        super().__init__(404, message, param="model", code="model_not_found")


@dataclass(frozen=True)
class Prompt:
    """What the model is asked: chat ``messages`` or a legacy ``text`` prompt."""

    messages: list[dict[str, Any]] | None = None
    text: str | None = None

    def query(self) -> str:
        """The text the model matches against what it learned (everything but assistant turns, for chat)."""
        if self.text is not None:
            return self.text
        return "\n".join(_content(m.get("content")) for m in self.messages or () if m.get("role") != "assistant")


@dataclass(frozen=True)
class Sampling:
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    top_logprobs: int = 0  # alternatives wanted per position (0: only the chosen token's logprob)
    logprobs: bool = False
    n: int = 1


@dataclass(frozen=True)
class Token:
    id: int
    text: str
    raw: bytes
    logprob: float
    top: tuple[tuple[str, bytes, float], ...]  # (token, bytes, logprob), most likely first


@dataclass(frozen=True)
class Answer:
    model: str  # the model that answered (as asked)
    text: str
    finish_reason: str  # stop | length
    prompt_tokens: int
    completion_tokens: int
    tokens: tuple[Token, ...] = ()

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass
class _Example:
    weights: dict[str, float]
    norm: float
    completion: str


@dataclass
class _Memory:
    """What a fine-tuned model learned: its examples as IDF-weighted vectors, and its labels by frequency."""

    idf: dict[str, float]
    examples: list[_Example] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)  # distinct completions, most frequent first


_files: OrderedDict[tuple[str, str], list[tuple[Counter, str]]] = OrderedDict()
_memories: OrderedDict[tuple[str, tuple[str, ...]], _Memory] = OrderedDict()
_cache_lock = threading.Lock()


def _content(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return " ".join(p["text"] for p in value if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def words(text: str) -> Counter:
    return Counter(_WORD.findall(text.lower()))


def _pair(example: Any) -> tuple[str, str] | None:
    """(what was asked, what was answered) of one training example of any format, or None."""
    if not isinstance(example, dict):
        return None
    if isinstance(example.get("prompt"), str) and isinstance(example.get("completion"), str):
        return example["prompt"], example["completion"]
    if isinstance(example.get("input"), dict):  # DPO: the preferred answer is what the model learned to give
        preferred = example.get("preferred_output")
        answer = preferred[-1] if isinstance(preferred, list) and preferred and isinstance(preferred[-1], dict) \
            else {}
        messages = example["input"].get("messages")
        if not isinstance(messages, list):
            return None
        return Prompt(messages=[m for m in messages if isinstance(m, dict)]).query(), _content(answer.get("content"))
    messages = example.get("messages")
    if not isinstance(messages, list):
        return None
    messages = [m for m in messages if isinstance(m, dict)]
    last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=None)
    if last is None:
        return None
    return Prompt(messages=messages[:last]).query(), _content(messages[last].get("content"))


def _parse_file(tx: Tx, blob_id: str) -> list[tuple[Counter, str]]:
    key = (str(tx.store.root), blob_id)
    with _cache_lock:
        if key in _files:
            _files.move_to_end(key)
            return _files[key]
    import json

    pairs = []
    for raw in tx.read_blob(blob_id).split(b"\n"):
        if not raw.strip():
            continue
        try:
            pair = _pair(json.loads(raw))
        except (ValueError, UnicodeDecodeError, RecursionError):
            continue
        if pair is not None:
            pairs.append((words(pair[0]), pair[1]))
    with _cache_lock:
        _files[key] = pairs
        while len(_files) > MAX_MEMORIES:
            _files.popitem(last=False)
    return pairs


def _memory(tx: Tx, blob_ids: tuple[str, ...]) -> _Memory:
    key = (str(tx.store.root), blob_ids)
    with _cache_lock:
        if key in _memories:
            _memories.move_to_end(key)
            return _memories[key]
    pairs = [pair for blob in blob_ids for pair in _parse_file(tx, blob)]
    df: Counter = Counter()
    for counts, _ in pairs:
        df.update(counts.keys())
    n = len(pairs)
    idf = {w: math.log((1 + n) / (1 + d)) for w, d in df.items()}
    memory = _Memory(idf=idf)
    for counts, completion in pairs:
        weights = {w: c * idf[w] for w, c in counts.items() if idf[w] > 0}
        memory.examples.append(_Example(weights, math.sqrt(sum(v * v for v in weights.values())), completion))
    frequency = Counter(completion for _, completion in pairs)
    memory.labels = sorted(frequency, key=lambda c: (-frequency[c], c))
    with _cache_lock:
        _memories[key] = memory
        while len(_memories) > MAX_MEMORIES:
            _memories.popitem(last=False)
    return memory


@dataclass(frozen=True)
class Model:
    id: str
    base: str  # the base model at the root of its lineage (tokenizer, table facts)
    training_files: tuple[str, ...] = ()  # blob ids it learned from, its own first; () for a base model
    degrade: float = 0.0


def _parent(tx: Tx, job: dict) -> str | None:
    """The fine-tuned model a job continued from: the model it was sent (OpenAI, Fireworks' warmStartFrom) or the
    checkpoint it started from (Together's from_checkpoint: a job id or a model name)."""
    if job.get("model") in tx.data["models"]:
        return job["model"]
    checkpoint = str((job.get("extra") or {}).get("from_checkpoint") or "").partition(":")[0]
    if checkpoint in tx.data["jobs"]:
        return tx.data["jobs"][checkpoint].get("fine_tuned_model")
    return checkpoint or None


def resolve(tx: Tx, model_id: str) -> Model:
    """The model ``model_id`` names (a fine-tune this emulator made, or a base model of its table); UnknownModel
    when there is none or it has shut down."""
    if model_id in tx.data["models"]:
        record = tx.data["models"][model_id]
        files: list[str] = []
        current: dict | None = record
        seen: set[str] = set()
        while current is not None and current["id"] not in seen:  # a continued model learned its parent's too
            seen.add(current["id"])
            job = tx.data["jobs"].get(current.get("job_id") or "") or {}
            if job.get("training_file"):
                files.append(job["training_file"])
            current = tx.data["models"].get(_parent(tx, job) or "")
        own_job = tx.data["jobs"].get(record.get("job_id") or "") or {}
        strength = record.get("degrade", own_job.get("degrade")) or 0.0
        model = Model(model_id, modeltable.base_of(tx, model_id), tuple(files), float(strength))
    elif modeltable.is_base(tx, model_id):
        model = Model(model_id, model_id)
    else:
        raise UnknownModel(f"The model `{model_id}` does not exist or you do not have access to it.")
    for _ in range(len(tx.data["models"])):  # the root of a lineage of fine-tunes
        if model.base not in tx.data["models"]:
            break
        model = Model(model.id, tx.data["models"][model.base]["base"], model.training_files, model.degrade)
    if modeltable.is_shut_down(tx, model.base):
        raise UnknownModel(f"The model `{model_id}` has been deprecated (its base model shut down on "
                           f"{modeltable.shutdown_date(tx, model.base)}).")
    return model


def formats(tx: Tx, model: Model) -> tuple[str, ...]:
    """The dataset formats the model's base takes: ``prompt_completion`` models answer only legacy completions."""
    return modeltable.lookup(tx, model.base).formats


def _scores(memory: _Memory, query: Counter) -> tuple[str, dict[str, float]]:
    """The best example's completion and each label's best similarity."""
    qweights = {w: c * memory.idf[w] for w, c in query.items() if memory.idf.get(w, 0) > 0}
    qnorm = math.sqrt(sum(v * v for v in qweights.values()))
    best, best_score = memory.labels[0], 0.0
    per_label: dict[str, float] = {label: 0.0 for label in memory.labels}
    if qnorm == 0:
        return best, per_label
    for example in memory.examples:
        if not example.norm:
            continue
        dot = sum(v * example.weights.get(w, 0.0) for w, v in qweights.items())
        score = dot / (qnorm * example.norm)
        if score > per_label[example.completion]:
            per_label[example.completion] = score
        if score > best_score:
            best, best_score = example.completion, score
    return best, per_label


def _corrupted(model: Model, query: str) -> bool:
    if model.degrade <= 0:
        return False
    digest = hashlib.sha256(f"{model.id}\n{query}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < model.degrade


def _cut(text: str, stop: tuple[str, ...]) -> tuple[str, bool]:
    """``text`` up to the first stop sequence (not included), and whether one was found."""
    positions = [p for p in (text.find(s) for s in stop if s) if p >= 0]
    return (text[:min(positions)], True) if positions else (text, False)


def _logsumexp(values: list[float]) -> float:
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


def answer(tx: Tx, model: Model, prompt: Prompt, sampling: Sampling) -> Answer:
    """What ``model`` answers to ``prompt``, with token usage counted in its table's encoding."""
    enc = tokens.get_encoding(modeltable.lookup(tx, model.base).encoding)
    query = prompt.query()
    if model.training_files:
        memory = _memory(tx, model.training_files)
        best, scores = _scores(memory, words(query))
        if not memory.labels:
            best, scores = BASE_ANSWER, {BASE_ANSWER: 0.0}
    else:
        best, scores = BASE_ANSWER, {BASE_ANSWER: 0.0}
    logits = {label: SHARPNESS * score for label, score in scores.items()}
    if best not in logits:
        logits[best] = max(logits.values())
    if model.training_files and len(logits) > 1 and _corrupted(model, query):
        ranked = sorted(logits, key=lambda label: (-logits[label], label != best, label))
        runner_up = next(label for label in ranked if label != best)
        logits[best], logits[runner_up] = logits[runner_up], logits[best] + 1e-6
        best = runner_up
    norm = _logsumexp(list(logits.values()))
    logprob = {label: value - norm for label, value in logits.items()}
    text, stopped = _cut(best, sampling.stop)
    ids = enc.encode_ordinary(text)
    finish = "stop"
    if sampling.max_tokens is not None and len(ids) > sampling.max_tokens:
        ids, finish = ids[:sampling.max_tokens], "length"
        text = enc.decode(ids)
    prompt_tokens = tokens.count_messages(prompt.messages, enc) if prompt.messages is not None else \
        tokens.count_text(prompt.text or "", enc)
    return Answer(model.id, text, finish, prompt_tokens, len(ids),
                  _token_logprobs(enc, ids, best, logprob, sampling) if sampling.logprobs else ())


def _token_logprobs(enc, ids: list[int], best: str, logprob: dict[str, float], sampling: Sampling) -> tuple:
    """Per position: the chosen token's logprob and the alternatives. The first position carries the choice
    between labels (labels that start with the same token share its probability); later ones are certain."""
    out = []
    first: dict[bytes, list[float]] = {}
    for label, value in logprob.items():
        head = enc.encode_ordinary(_cut(label, sampling.stop)[0])[:1]
        if head:
            first.setdefault(enc.decode_single_token_bytes(head[0]), []).append(value)
    alternatives = sorted(((raw, _logsumexp(values)) for raw, values in first.items()), key=lambda a: -a[1])
    for position, token_id in enumerate(ids):
        raw = enc.decode_single_token_bytes(token_id)
        if position == 0:
            chosen = next((lp for r, lp in alternatives if r == raw), logprob.get(best, 0.0))
            top = tuple((r.decode("utf-8", "replace"), r, lp) for r, lp in alternatives[:sampling.top_logprobs])
        else:
            chosen = 0.0
            top = ((raw.decode("utf-8", "replace"), raw, 0.0),)[:sampling.top_logprobs]
        out.append(Token(token_id, raw.decode("utf-8", "replace"), raw, round(chosen, 6),
                         tuple((t, r, round(lp, 6)) for t, r, lp in top)))
    return tuple(out)


def run(tx: Tx, model_id: str, prompt: Prompt, sampling: Sampling, *, legacy: bool) -> Answer:
    """Resolve and answer; refuses a chat request to a prompt/completion-only model and the other way round, as
    OpenAI's endpoints do (``legacy``: the request came to ``/completions``)."""
    model = resolve(tx, model_id)
    takes = formats(tx, model)
    if legacy and "prompt_completion" not in takes and "chat" in takes and _strict(tx):
        raise ApiError(404, "This is a chat model and not supported in the v1/completions endpoint. Did you mean "
                            "to use v1/chat/completions?", param="model")
    if not legacy and "chat" not in takes:
        raise ApiError(404, "This is not a chat model and thus not supported in the v1/chat/completions endpoint. "
                            "Did you mean to use v1/completions?", param="model")
    return answer(tx, model, prompt, sampling)


def _strict(tx: Tx) -> bool:
    """Only OpenAI refuses legacy completions for chat models; Together and Fireworks serve both."""
    return tx.cfg.api == "openai"


# -- request parsing shared by the OpenAI-compatible dialects --------------------------------------------------
def number(body: dict, name: str, low: float, high: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise bad_request(f"Invalid value for '{name}': expected a number from {low:g} to {high:g}.", param=name)
    return float(value)


def integer(body: dict, name: str, low: int, high: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise bad_request(f"Invalid value for '{name}': expected an integer from {low} to {high}.", param=name)
    return value


def stops(body: dict) -> tuple[str, ...]:
    value = body.get("stop")
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and len(value) <= 4 and all(isinstance(s, str) for s in value):
        return tuple(value)
    raise bad_request("Invalid value for 'stop': expected a string or an array of up to 4 strings.", param="stop")


def model_of(body: dict) -> str:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad_request("you must provide a model parameter", param="model")
    return model


def messages_of(body: dict) -> list[dict[str, Any]]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise bad_request("Invalid 'messages': expected a non-empty array of messages.", param="messages")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise bad_request(f"Invalid 'messages[{i}]': expected an object with a 'role'.", param=f"messages[{i}]")
    return messages


def prompt_of(body: dict) -> str:
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise bad_request("Invalid 'prompt': expected a string (one prompt per request in the ftops emulator).",
                          param="prompt")
    return prompt


def no_stream(body: dict) -> None:
    if body.get("stream"):
        raise bad_request("The ftops emulator does not stream; send the request without 'stream'.", param="stream")


# -- admin -------------------------------------------------------------------------------------------------------
def _strength(req: Request) -> float:
    strength = req.json(required=False, lenient=True).get("strength", 1.0)
    if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not 0 <= strength <= 1:
        raise bad_request("'strength' must be a number from 0 to 1.", param="strength")
    return float(strength)


def degrade(tx: Tx, req: Request) -> dict:
    """``POST /_emulator/models/{id}/degrade`` ``{"strength": 0..1}``: a fine-tuned model answers worse."""
    model_id = req.params["id"].split("#", 1)[0]
    record = tx.data["models"].get(model_id)
    if record is None:
        raise not_found(f"No fine-tuned model {model_id!r}.", param="id")
    record["degrade"] = _strength(req)
    tx.touch()
    return {"id": model_id, "degrade": record["degrade"]}


def degrade_job(tx: Tx, req: Request) -> dict:
    """``POST /_emulator/jobs/{id}/degrade`` ``{"strength": 0..1}``: the model this job makes (or made) answers
    worse, so a test can make a candidate worse before an apply evaluates it."""
    job = tx.data["jobs"].get(req.params["id"])
    if job is None:
        raise not_found(f"No job {req.params['id']!r}.", param="id")
    job["degrade"] = _strength(req)
    record = tx.data["models"].get(job.get("fine_tuned_model") or "")
    if record is not None:
        record.pop("degrade", None)  # the job's word is the newest
    tx.touch()
    return {"id": job["id"], "degrade": job["degrade"]}
