"""A synthetic but realistic chat fine-tuning file for benchmarks: varied prose, code, numbers and some
non-English text; a few system prompts shared by many rows (as in real data); some rows with tools, tool calls
and tool results, and some with content parts. About 1 KB per example, like the 200 MiB / 208,906-example file
of the reference measurements (shared/reference/data-checks.md)."""

from __future__ import annotations

import json
import random
from pathlib import Path

WORDS = """the a to of and in is it you that for on with as this be are was have not or by at from but your can
we an they will if all do there about which when their more one so what would out up has so time could like
please order account refund shipping invoice password reset delivery address payment card subscription plan
upgrade cancel renewal warranty return label tracking number support agent ticket priority escalate schedule
meeting calendar report quarterly revenue forecast budget customer product feature release bug crash error log
server database query index latency cache deploy rollback config token model dataset training evaluation metric
accuracy precision recall because however therefore although meanwhile furthermore unfortunately certainly""".split()
CODE = ["def handler(event, context):\n    return {\"statusCode\": 200}", "SELECT id, total FROM orders WHERE "
        "status = 'open' ORDER BY created_at DESC LIMIT 20;", "for (let i = 0; i < items.length; i++) { sum += items[i]; }",
        "kubectl rollout undo deployment/api --to-revision=3"]
OTHER = ["Merci beaucoup pour votre patience.", "Vielen Dank für Ihre Geduld, wir prüfen das.",
         "お問い合わせありがとうございます。", "Спасибо, мы уже работаем над этим.", "感谢您的耐心等待。"]
SYSTEMS = [f"You are {role}. Answer {style}." for role in ("a support agent for Acme Cloud", "a billing assistant",
           "an SRE on call", "a travel booking assistant", "a careful legal summariser")
           for style in ("briefly and politely", "in numbered steps", "with a short summary first", "in plain words")]
TOOLS = [{"type": "function", "function": {"name": name, "description": f"Look up {name.split('_')[1]} details",
          "parameters": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}}}
         for name in ("get_order", "get_invoice", "get_ticket", "get_flight")]


def _sentence(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(6, 22))
    words[0] = words[0].capitalize()
    if rng.random() < 0.3:
        words.insert(rng.randrange(len(words)), f"#{rng.randint(1000, 999999)}")
    return " ".join(words) + rng.choice(".?!.")


def _text(rng: random.Random, sentences: int) -> str:
    parts = [_sentence(rng) for _ in range(sentences)]
    if rng.random() < 0.1:
        parts.append("```\n" + rng.choice(CODE) + "\n```")
    if rng.random() < 0.05:
        parts.append(rng.choice(OTHER))
    return " ".join(parts)


def _row(rng: random.Random) -> dict:
    messages = [{"role": "system", "content": rng.choice(SYSTEMS)}]
    row: dict = {"messages": messages}
    kind = rng.random()
    if kind < 0.15:
        tool = rng.choice(TOOLS)
        row["tools"] = TOOLS
        call_id = f"call_{rng.randrange(1 << 40):x}"
        messages += [{"role": "user", "content": _text(rng, rng.randint(1, 4))},
                     {"role": "assistant", "content": None, "tool_calls": [{"id": call_id, "type": "function",
                      "function": {"name": tool["function"]["name"], "arguments": json.dumps({"id": str(rng.randint(1, 10**6))})}}]},
                     {"role": "tool", "tool_call_id": call_id, "content": json.dumps({"status": _sentence(rng)})}]
    elif kind < 0.25:
        messages.append({"role": "user", "content": [{"type": "text", "text": _text(rng, rng.randint(1, 4))},
                                                     {"type": "text", "text": _text(rng, 1)}]})
    for _ in range(rng.choice((1, 1, 1, 1, 2, 3))):
        if messages[-1]["role"] in ("assistant", "system"):
            messages.append({"role": "user", "content": _text(rng, rng.randint(1, 3))})
        messages.append({"role": "assistant", "content": _text(rng, rng.randint(1, 5))})
    return row


def write_chat_file(path: Path, size_bytes: int, seed: int = 7) -> int:
    rng = random.Random(seed)
    rows = written = 0
    with open(path, "w", encoding="utf-8") as fh:
        while written < size_bytes:
            line = json.dumps(_row(rng), ensure_ascii=False) + "\n"
            fh.write(line)
            written += len(line.encode("utf-8"))
            rows += 1
    return rows
