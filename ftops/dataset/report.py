"""What a dataset check found: the frozen report the plan, the CLI and the cache all share."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

@dataclass(frozen=True)
class Finding:
    """An error: the provider would reject the file (or the job would fail) because of it."""

    line: int | None  # 1-based line number; None for a problem of the whole file
    code: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class Warning:  # noqa: A001 - the public name of the API
    """Advice: the job would run, but probably not the way you want."""

    code: str
    message: str
    lines: tuple[int, ...] = ()  # the first lines concerned (at most a few hundred), 1-based

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "lines": list(self.lines)}


@dataclass(frozen=True)
class TokenStats:
    encoding: str
    total: int = 0  # estimated tokens of all examples, one epoch
    billing: int = 0  # sum over examples of min(limit, tokens), one epoch
    max_per_example: int = 0
    over_limit: int = 0  # examples longer than the model's training context

    def to_json(self) -> dict[str, Any]:
        return {"encoding": self.encoding, "total": self.total, "billing": self.billing,
                "max_per_example": self.max_per_example, "over_limit": self.over_limit}


@dataclass(frozen=True)
class FileReport:
    path: Path
    sha256: str
    bytes: int
    format: str
    examples: int
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Warning] = field(default_factory=list)
    tokens: TokenStats = field(default_factory=lambda: TokenStats("o200k_base"))
    epochs: int = 0
    estimated_cost_usd: float | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def with_path(self, path: Path) -> FileReport:
        return replace(self, path=Path(path))

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "sha256": self.sha256,
            "bytes": self.bytes,
            "format": self.format,
            "examples": self.examples,
            "ok": self.ok,
            "errors": [e.to_json() for e in self.errors],
            "warnings": [w.to_json() for w in self.warnings],
            "tokens": self.tokens.to_json(),
            "epochs": self.epochs,
            "estimated_cost_usd": self.estimated_cost_usd,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileReport:
        return cls(
            path=Path(data["path"]),
            sha256=data["sha256"],
            bytes=int(data["bytes"]),
            format=data["format"],
            examples=int(data["examples"]),
            errors=[Finding(e["line"], e["code"], e["message"]) for e in data["errors"]],
            warnings=[Warning(w["code"], w["message"], tuple(w["lines"])) for w in data["warnings"]],
            tokens=TokenStats(**data["tokens"]),
            epochs=int(data["epochs"]),
            estimated_cost_usd=data["estimated_cost_usd"],
        )
