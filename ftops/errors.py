"""The one error tree of ftops.

Every error a user can cause (a broken spec, a bad dataset, a provider refusal) is an ``FtopsError``. The CLI
is the single boundary that turns them into a short message and exit code 1; anything else is a bug (exit 3).
Messages never contain secrets: providers redact before they raise.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem found in a file: where it is and what is wrong."""

    message: str
    file: str | None = None
    line: int | None = None
    key: str | None = None  # dotted path of the bad key, e.g. "method.hyperparameters.n_epochs"
    code: str | None = None

    def __str__(self) -> str:
        where = self.file or ""
        if self.line is not None:
            where = f"{where}:{self.line}" if where else f"line {self.line}"
        parts = [p for p in (where, self.key) if p]
        prefix = ": ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message


def dotted_path(path) -> str:
    """``["method", "hyperparameters", "n_epochs"]`` -> ``method.hyperparameters.n_epochs``; list items as ``[i]``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class FtopsError(Exception):
    """A user-facing error: the CLI prints it and exits 1."""

    hint: str | None = None

    def __init__(self, message: str, *, problems: list[Problem] | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.problems = list(problems or [])
        if hint is not None:
            self.hint = hint

    def __str__(self) -> str:
        lines = [self.message]
        lines.extend(f"  {p}" for p in self.problems)
        return "\n".join(lines)


class ConfigError(FtopsError):
    """ftops.yaml is missing a piece or is malformed."""


class SpecError(FtopsError):
    """One or more spec files are invalid."""


class LockfileError(FtopsError):
    """ftops.lock cannot be read or is inconsistent."""


class DatasetError(FtopsError):
    """A dataset file has errors that would make the job fail."""


class ConversionError(DatasetError):
    """One example cannot be converted to another format; the message says what has no equivalent there."""


class PlanError(FtopsError):
    """The plan cannot be made or applied (budget exceeded, stale saved plan, ...)."""


class LockHeldError(FtopsError):
    """Another ftops process holds the project lock."""


class ProviderError(FtopsError):
    """The provider refused a request or could not be reached."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        param: str | None = None,
        request_id: str | None = None,
        provider: str | None = None,
        hint: str | None = None,
    ):
        self.status = status
        self.code = code
        self.param = param
        self.request_id = request_id
        self.provider = provider
        details = [f"{k}={v}" for k, v in (("status", status), ("code", code), ("param", param),
                                              ("request_id", request_id)) if v is not None]
        full = f"{provider}: {message}" if provider else message
        if details:
            full = f"{full} ({', '.join(details)})"
        super().__init__(full, hint=hint)


class NotFoundError(ProviderError):
    """The provider says the object does not exist (HTTP 404)."""
