"""Using a model: the neutral request and answer of the optional ``complete`` verb (``Capabilities.verbs``), and
the OpenAI-compatible wire every provider type that serves its models speaks for it (OpenAI and Azure OpenAI,
Together, Fireworks' ``/inference/v1``, an OpenAI-compatible server such as vLLM).

Chat requests go to ``chat/completions``, prompt/completion requests to the legacy ``completions``. Log
probabilities are asked for the first positions' alternatives: OpenAI's way (``logprobs: true, top_logprobs: N``
for chat, ``logprobs: N`` for completions) or Together's (``logprobs: N`` for both). The answer is read
defensively in every shape those APIs use: ``logprobs.content[].top_logprobs[]`` (OpenAI chat) and
``tokens`` / ``token_logprobs`` / ``top_logprobs`` (legacy completions, Together). A request is retried as reads
are (``HttpClient``): generating an answer creates nothing on the provider.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ftops.providers.answers import MalformedAnswer, mapping, num, obj

if TYPE_CHECKING:
    from ftops.providers.http import HttpClient

MAX_TOP_LOGPROBS = {"openai": 20, "openai-legacy": 5, "together": 20}


@dataclass(frozen=True)
class CompletionRequest:
    """One model call: chat ``messages`` or a legacy ``prompt`` (exactly one of them)."""

    model: str
    messages: tuple[dict[str, Any], ...] | None = None
    prompt: str | None = None
    max_tokens: int | None = None
    temperature: float | None = 0.0
    stop: tuple[str, ...] = ()
    top_logprobs: int = 0  # alternatives wanted at each position (0: no log probabilities)
    seed: int | None = None


@dataclass(frozen=True)
class Completion:
    text: str
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    # The alternatives the model weighed for its first token, (token, logprob), most likely first; () when the
    # provider gave no log probabilities.
    first_token: tuple[tuple[str, float], ...] = ()


def body_of(request: CompletionRequest, style: str = "openai") -> tuple[str, dict[str, Any]]:
    """(path, JSON body) of ``request`` on an OpenAI-compatible API (``style`` "openai" or "together")."""
    body: dict[str, Any] = {"model": request.model}
    chat = request.messages is not None
    if chat:
        body["messages"] = [dict(m) for m in request.messages or ()]
    else:
        body["prompt"] = request.prompt or ""
    if request.max_tokens is not None:
        body["max_tokens"] = request.max_tokens
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.stop:
        body["stop"] = list(request.stop)
    if request.seed is not None:
        body["seed"] = request.seed
    if request.top_logprobs:
        if style == "together":
            body["logprobs"] = min(request.top_logprobs, MAX_TOP_LOGPROBS["together"])
        elif chat:
            body.update(logprobs=True, top_logprobs=min(request.top_logprobs, MAX_TOP_LOGPROBS["openai"]))
        else:
            body["logprobs"] = min(request.top_logprobs, MAX_TOP_LOGPROBS["openai-legacy"])
    return ("chat/completions" if chat else "completions"), body


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # content parts
        return "".join(str(p.get("text", "")) for p in value if isinstance(p, dict))
    return ""


def _pairs(value: Any) -> list[tuple[str, float]]:
    """Alternatives from ``[{token, logprob}]`` or ``{token: logprob}``, most likely first."""
    found: list[tuple[str, float]] = []
    if isinstance(value, dict):
        found = [(str(k), float(v)) for k, v in value.items() if isinstance(v, (int, float))
                 and not isinstance(v, bool)]
    elif isinstance(value, list):
        for item in value:
            item = mapping(item)
            lp = item.get("logprob")
            if isinstance(item.get("token"), str) and isinstance(lp, (int, float)) and not isinstance(lp, bool):
                found.append((item["token"], float(lp)))
    return sorted(found, key=lambda pair: -pair[1])


def first_token(logprobs: Any) -> tuple[tuple[str, float], ...]:
    """The first position's alternatives, from any of the shapes OpenAI-compatible APIs answer with."""
    logprobs = mapping(logprobs)
    content = logprobs.get("content")
    if isinstance(content, list) and content:
        head = mapping(content[0])
        found = _pairs(head.get("top_logprobs"))
        if not found and isinstance(head.get("token"), str) and isinstance(head.get("logprob"), (int, float)):
            found = [(head["token"], float(head["logprob"]))]
        return tuple(found)
    top = logprobs.get("top_logprobs")
    if isinstance(top, list) and top:
        found = _pairs(top[0])
    elif isinstance(top, dict):
        found = _pairs(top)
    else:
        found = []
    if not found:
        tokens, values = logprobs.get("tokens"), logprobs.get("token_logprobs")
        if isinstance(tokens, list) and isinstance(values, list) and tokens and isinstance(values[0], (int, float)):
            found = [(str(tokens[0]), float(values[0]))]
    return tuple(found)


def parse_completion(data: Any, provider: str) -> Completion:
    data = obj(data, "a completion", provider)
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise MalformedAnswer("the completion has no choices", provider=provider)
    choice = choices[0]
    message = mapping(choice.get("message"))
    text = _text(message.get("content")) if message else _text(choice.get("text"))
    usage = mapping(data.get("usage"))
    reason = choice.get("finish_reason")
    return Completion(text=text, finish_reason=reason if isinstance(reason, str) else None,
                      prompt_tokens=num(usage.get("prompt_tokens")),
                      completion_tokens=num(usage.get("completion_tokens")),
                      first_token=first_token(choice.get("logprobs")))


def complete(http: HttpClient, provider: str, request: CompletionRequest, *, prefix: str = "",
             style: str = "openai") -> Completion:
    """Send ``request`` to ``<base>/<prefix>chat/completions`` (or ``completions``) and read the answer."""
    path, body = body_of(request, style)
    return parse_completion(http.json("POST", prefix + path, json=body), provider)
