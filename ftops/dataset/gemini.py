"""OpenAI chat and DPO rows <-> Gemini (Vertex AI) tuning rows, both ways, keeping every message.

Chat -> Gemini: a first system (or developer) message becomes ``systemInstruction``; user -> ``user``,
assistant -> ``model``; text content and text parts -> ``text`` parts; image_url parts -> ``inlineData`` (data:
URLs) or ``fileData``; each tool call -> a ``functionCall`` part (``arguments``, a JSON string, becomes the
``args`` object; the call id is kept); consecutive tool messages -> one ``user`` turn of ``functionResponse``
parts (``response`` is the content's JSON object, or ``{"content": text}``); ``tools`` -> one tool of
``functionDeclarations``. Gemini -> chat is the inverse: a turn of one text part gives a string content, a call
without an id gets ``call_<n>``, a response without an id answers the earliest open call of that name.

What has no Gemini form raises ConversionError: a system message after the first turn, a ``name`` on a
message, weight 0, arguments that are not a JSON object, audio or file parts, unknown keys.
"""

from __future__ import annotations

import json
import mimetypes
from typing import Any

from ftops.errors import ConversionError

SYSTEM_ROLES = ("system", "developer")
DECLARATION_KEYS = frozenset({"name", "description", "parameters"})


def _only(obj: dict, allowed: set[str] | frozenset[str], where: str) -> None:
    for key in obj:
        if key not in allowed:
            raise ConversionError(f"{where}: {key!r} has no Gemini equivalent")


def _dict(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise ConversionError(f"{where} must be an object")
    return value


# -- chat -> Gemini -----------------------------------------------------------------------------------------------

def _media_part(url: Any, where: str) -> dict:
    if not isinstance(url, str):
        raise ConversionError(f"{where}: image_url.url must be a string")
    if url.startswith("data:") and ";base64," in url:
        mime, data = url[5:].split(";base64,", 1)
        return {"inlineData": {"mimeType": mime, "data": data}}
    guessed = mimetypes.guess_type(url)[0]
    if guessed is None:
        raise ConversionError(f"{where}: cannot tell the media type of {url[:80]!r} (Gemini's fileData needs one)")
    return {"fileData": {"mimeType": guessed, "fileUri": url}}


def _parts(content: Any, where: str) -> list[dict]:
    if isinstance(content, str):
        return [{"text": content}]
    if not isinstance(content, list) or not content:
        raise ConversionError(f"{where}: content must be a string or a non-empty list of parts")
    out = []
    for i, part in enumerate(content, 1):
        kind = part.get("type") if isinstance(part, dict) else None
        here = f"{where} part {i}"
        if kind == "text" and isinstance(part.get("text"), str):
            _only(part, {"type", "text"}, here)
            out.append({"text": part["text"]})
        elif kind == "image_url" and isinstance(part.get("image_url"), dict):
            _only(part, {"type", "image_url"}, here)
            _only(part["image_url"], {"url"}, here)
            out.append(_media_part(part["image_url"].get("url"), here))
        else:
            raise ConversionError(f"{here}: a {kind!r} part has no Gemini equivalent")
    return out


def _args(arguments: Any, where: str) -> dict:
    try:
        args = json.loads(arguments) if isinstance(arguments, str) else None
    except ValueError:
        args = None
    if not isinstance(args, dict):
        raise ConversionError(f"{where}: arguments must be a JSON object (Gemini's args is one)")
    return args


def _model_turn(msg: dict, where: str, names: dict[str, str]) -> dict:
    _only(msg, {"role", "content", "tool_calls", "function_call", "weight"}, where)
    weight = msg.get("weight", 1)
    if isinstance(weight, bool) or weight != 1:
        raise ConversionError(f"{where}: weight {weight!r} has no Gemini equivalent (every model turn is trained)")
    parts = _parts(msg["content"], where) if msg.get("content") is not None else []
    calls = msg.get("tool_calls") or []
    if not isinstance(calls, list):
        raise ConversionError(f"{where}: tool_calls must be a list")
    for i, call in enumerate(calls, 1):
        here = f"{where} tool call {i}"
        call = _dict(call, here)
        _only(call, {"id", "type", "function"}, here)
        function = _dict(call.get("function"), f"{here} function")
        _only(function, {"name", "arguments"}, here)
        if call.get("type", "function") != "function" or not isinstance(function.get("name"), str):
            raise ConversionError(f"{here}: needs type 'function' and a function name")
        fc = {"id": call["id"]} if isinstance(call.get("id"), str) else {}
        fc.update(name=function["name"], args=_args(function.get("arguments"), here))
        names[str(call.get("id"))] = function["name"]
        parts.append({"functionCall": fc})
    if "function_call" in msg:
        legacy = _dict(msg["function_call"], f"{where} function_call")
        parts.append({"functionCall": {"name": legacy.get("name"), "args": _args(legacy.get("arguments"), where)}})
    if not parts:
        raise ConversionError(f"{where}: an assistant message with neither content nor a call")
    return {"role": "model", "parts": parts}


def _response(content: Any, where: str) -> dict:
    if not isinstance(content, str):
        raise ConversionError(f"{where}: a tool result must be text")
    try:
        value = json.loads(content)
    except ValueError:
        value = None
    if isinstance(value, dict) and not _wrapped(value) and json.dumps(value, ensure_ascii=False) == content:
        return value
    return {"content": content}


def _wrapped(response: dict) -> bool:
    return set(response) == {"content"} and isinstance(response["content"], str)


def _response_part(msg: dict, where: str, names: dict[str, str]) -> dict:
    if msg.get("role") == "tool":
        _only(msg, {"role", "content", "tool_call_id"}, where)
        call_id = msg.get("tool_call_id")
        if call_id not in names:
            raise ConversionError(f"{where}: tool_call_id {call_id!r} answers no earlier tool call")
        return {"functionResponse": {"id": call_id, "name": names[call_id],
                                     "response": _response(msg.get("content"), where)}}
    _only(msg, {"role", "content", "name"}, where)
    if not isinstance(msg.get("name"), str):
        raise ConversionError(f"{where}: a function message needs a name")
    return {"functionResponse": {"name": msg["name"], "response": _response(msg.get("content"), where)}}


def _contents(messages: list, start: int) -> list[dict]:
    contents: list[dict] = []
    names: dict[str, str] = {}
    answering = False  # the last turn holds function responses: further tool messages join it
    for i, msg in enumerate(messages[start:], start + 1):
        where = f"message {i}"
        msg = _dict(msg, where)
        role = msg.get("role")
        if role == "user":
            _only(msg, {"role", "content"}, where)
            contents.append({"role": "user", "parts": _parts(msg.get("content"), where)})
        elif role == "assistant":
            contents.append(_model_turn(msg, where, names))
        elif role in ("tool", "function"):
            part = _response_part(msg, where, names)
            if answering:
                contents[-1]["parts"].append(part)
            else:
                contents.append({"role": "user", "parts": [part]})
        elif role in SYSTEM_ROLES:
            raise ConversionError(f"{where}: a {role} message after the first has no Gemini equivalent "
                                  "(one systemInstruction comes before the turns)")
        else:
            raise ConversionError(f"{where}: role {role!r} has no Gemini equivalent")
        answering = role in ("tool", "function")
    return contents


def _declarations(tools: Any) -> list[dict]:
    if not isinstance(tools, list):
        raise ConversionError("tools must be a list")
    out = []
    for i, tool in enumerate(tools, 1):
        tool = _dict(tool, f"tool {i}")
        _only(tool, {"type", "function"}, f"tool {i}")
        function = _dict(tool.get("function"), f"tool {i} function")
        _only(function, DECLARATION_KEYS, f"tool {i} function")
        out.append(dict(function))
    return [{"functionDeclarations": out}] if out else []


def _system_and_contents(messages: Any) -> tuple[dict | None, list[dict]]:
    if not isinstance(messages, list) or not messages:
        raise ConversionError("no non-empty 'messages' list")
    first = _dict(messages[0], "message 1")
    if first.get("role") in SYSTEM_ROLES:
        _only(first, {"role", "content"}, "message 1")
        return {"parts": _parts(first.get("content"), "message 1")}, _contents(messages, 1)
    return None, _contents(messages, 0)


def chat_to_gemini(example: dict) -> dict:
    """An OpenAI chat example -> a Vertex AI supervised tuning row."""
    _only(example, {"messages", "tools"}, "example")
    system, contents = _system_and_contents(example.get("messages"))
    out: dict[str, Any] = {"systemInstruction": system} if system is not None else {}
    out["contents"] = contents
    if "tools" in example:
        out["tools"] = _declarations(example["tools"])
    return out


def dpo_to_gemini(example: dict) -> dict:
    """An OpenAI DPO row -> a Vertex AI preference tuning row (score 1 preferred, 0 non-preferred)."""
    _only(example, {"input", "preferred_output", "non_preferred_output"}, "example")
    inp = _dict(example.get("input"), "input")
    _only(inp, {"messages"}, "input")
    system, contents = _system_and_contents(inp.get("messages"))
    out: dict[str, Any] = {"system_instruction": system} if system is not None else {}
    out["contents"] = contents
    completions = []
    for key, score in (("preferred_output", 1), ("non_preferred_output", 0)):
        output = example.get(key)
        if not isinstance(output, list) or len(output) != 1 or _dict(output[0], key).get("role") != "assistant":
            raise ConversionError(f"{key} must be a list of one assistant message")
        completions.append({"score": score, "completion": _model_turn(output[0], key, {})})
    out["completions"] = completions
    return out


# -- Gemini -> chat -----------------------------------------------------------------------------------------------

def _content(parts: list[dict], where: str) -> str | list[dict]:
    if len(parts) == 1 and set(parts[0]) == {"text"} and isinstance(parts[0]["text"], str):
        return parts[0]["text"]
    out: list[dict] = []
    for part in parts:
        if set(part) == {"text"} and isinstance(part["text"], str):
            out.append({"type": "text", "text": part["text"]})
        elif set(part) == {"inlineData"} and isinstance(part["inlineData"], dict):
            data = part["inlineData"]
            image: dict[str, Any] = {"url": f"data:{data.get('mimeType')};base64,{data.get('data')}"}
            out.append({"type": "image_url", "image_url": image})
        elif set(part) == {"fileData"} and isinstance(part["fileData"], dict):
            linked: dict[str, Any] = {"url": part["fileData"].get("fileUri")}
            out.append({"type": "image_url", "image_url": linked})
        else:
            raise ConversionError(f"{where}: a part with {', '.join(map(repr, part))} has no OpenAI chat equivalent")
    return out


def _turn_parts(turn: Any, where: str) -> list[dict]:
    turn = _dict(turn, where)
    _only(turn, {"role", "parts"}, where)
    parts = turn.get("parts")
    if not isinstance(parts, list) or not parts or not all(isinstance(p, dict) for p in parts):
        raise ConversionError(f"{where}: parts must be a non-empty list of objects")
    return parts


def _assistant(parts: list[dict], where: str, calls: list[list]) -> dict:
    message: dict[str, Any] = {"role": "assistant"}
    texts = [p for p in parts if "functionCall" not in p]
    if texts:
        message["content"] = _content(texts, where)
    tool_calls = []
    for part in parts:
        if "functionCall" not in part:
            continue
        fc = _dict(part["functionCall"], f"{where} functionCall")
        _only(fc, {"id", "name", "args"}, where)
        call_id = fc.get("id") or f"call_{len(calls) + 1}"
        calls.append([call_id, fc.get("name"), True])
        tool_calls.append({"id": call_id, "type": "function", "function": {
            "name": fc.get("name"), "arguments": json.dumps(fc.get("args", {}), ensure_ascii=False)}})
    if tool_calls:
        message["tool_calls"] = tool_calls
    return message


def _answer(fr: dict, where: str, calls: list[list]) -> dict:
    _only(fr, {"id", "name", "response"}, where)
    call_id = fr.get("id")
    for call in calls:
        if call[2] and (call[0] == call_id if call_id else call[1] == fr.get("name")):
            call[2] = False
            call_id = call[0]
            break
    else:
        if not call_id:
            raise ConversionError(f"{where}: functionResponse {fr.get('name')!r} answers no earlier functionCall")
    response = _dict(fr.get("response"), f"{where} response")
    content = response["content"] if _wrapped(response) else json.dumps(response, ensure_ascii=False)
    return {"role": "tool", "tool_call_id": call_id, "content": content}


def _user(parts: list[dict], where: str, calls: list[list]) -> list[dict]:
    """A user turn's parts in order: each functionResponse a tool message, each run of other parts a user one."""
    messages: list[dict] = []
    pending: list[dict] = []
    for part in parts:
        if "functionResponse" not in part:
            pending.append(part)
            continue
        if pending:
            messages.append({"role": "user", "content": _content(pending, where)})
            pending = []
        messages.append(_answer(_dict(part["functionResponse"], where), where, calls))
    if pending:
        messages.append({"role": "user", "content": _content(pending, where)})
    return messages


def _messages(example: dict, system_keys: tuple[str, ...]) -> list[dict]:
    present = [k for k in system_keys if k in example]
    messages: list[dict] = []
    if present:
        messages.append({"role": "system", "content": _content(_turn_parts(example[present[0]], present[0]),
                                                               present[0])})
    contents = example.get("contents")
    if not isinstance(contents, list) or not contents:
        raise ConversionError("no non-empty 'contents' list")
    calls: list[list] = []
    for i, turn in enumerate(contents, 1):
        where = f"contents turn {i}"
        parts = _turn_parts(turn, where)
        role = turn.get("role", "user")  # Gemini lets a single-turn row leave the role unset
        if role == "model":
            messages.append(_assistant(parts, where, calls))
        elif role == "user":
            messages.extend(_user(parts, where, calls))
        else:
            raise ConversionError(f"{where}: role {role!r} is neither 'user' nor 'model'")
    return messages


def _tools(tools: Any) -> list[dict]:
    if not isinstance(tools, list):
        raise ConversionError("tools must be a list")
    out = []
    for i, tool in enumerate(tools, 1):
        tool = _dict(tool, f"tool {i}")
        if set(tool) != {"functionDeclarations"} or not isinstance(tool["functionDeclarations"], list):
            raise ConversionError(f"tool {i}: only functionDeclarations have an OpenAI equivalent")
        for declaration in tool["functionDeclarations"]:
            _only(_dict(declaration, f"tool {i} declaration"), DECLARATION_KEYS, f"tool {i} declaration")
            out.append({"type": "function", "function": dict(declaration)})
    return out


def gemini_to_chat(example: dict) -> dict:
    """A Vertex AI supervised tuning row -> an OpenAI chat example."""
    _only(example, {"systemInstruction", "system_instruction", "contents", "tools"}, "example")
    out: dict[str, Any] = {"messages": _messages(example, ("systemInstruction", "system_instruction"))}
    if "tools" in example:
        out["tools"] = _tools(example["tools"])
    return out


def gemini_to_dpo(example: dict) -> dict:
    """A Vertex AI preference tuning row (one completion scored 1, one scored 0) -> an OpenAI DPO row."""
    _only(example, {"systemInstruction", "system_instruction", "contents", "completions"}, "example")
    completions = example.get("completions")
    if not isinstance(completions, list) or len(completions) != 2 or not all(isinstance(c, dict) for c in completions):
        raise ConversionError("completions must be a list of two scored completions")
    by_score = {c.get("score"): c.get("completion") for c in completions}
    if set(by_score) != {0, 1}:
        raise ConversionError("completions need one with score 1 (preferred) and one with score 0")
    outputs = {}
    for key, score in (("preferred_output", 1), ("non_preferred_output", 0)):
        turn = _dict(by_score[score], f"completion scored {score}")
        if turn.get("role", "model") != "model":
            raise ConversionError(f"completion scored {score}: role must be 'model'")
        outputs[key] = [_assistant(_turn_parts(turn, f"completion scored {score}"), key, [])]
    return {"input": {"messages": _messages(example, ("system_instruction", "systemInstruction"))}, **outputs}
