"""A small labelled task for inference and eval tests: support tickets routed to billing / bug / account, made
from the README example's tickets (``specs/data/tickets``), in chat or prompt/completion form, split into training
and held-out examples that never share a line."""

from __future__ import annotations

import json
from pathlib import Path

TICKETS = Path(__file__).resolve().parents[2] / "specs" / "data" / "tickets"
SYSTEM = "Route the support ticket: answer billing, bug or account."


def _pc(name: str) -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in (TICKETS / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(r["prompt"].removesuffix("\n\n###\n\n"), r["completion"].strip()) for r in rows]


def train_pairs() -> list[tuple[str, str]]:
    return _pc("train.jsonl")


def held_out_pairs() -> list[tuple[str, str]]:
    return _pc("valid.jsonl")


def chat_row(text: str, label: str) -> dict:
    return {"messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": text},
                         {"role": "assistant", "content": label}]}


def pc_row(text: str, label: str) -> dict:
    return {"prompt": f"{text}\n\n###\n\n", "completion": f" {label}\n"}


def rows(pairs, form: str = "chat") -> list[dict]:
    return [chat_row(t, label) if form == "chat" else pc_row(t, label) for t, label in pairs]


def jsonl(rows_: list[dict]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows_).encode()


def write(path: Path, rows_: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(jsonl(rows_))
    return path
