"""A spec's ``eval:`` block, read into an ``EvalConfig`` (pure), and the problems the schema cannot express.

```yaml
eval:
  data: data/tickets/heldout.jsonl   # default: the spec's validation_file (same formats and checks as training data)
  metrics: [accuracy, per_class, macro_f1, fbeta, auroc, auprc]   # default: exact_match, accuracy
  positive_class: billing            # for fbeta (with precision and recall), auroc and auprc
  betas: [1, 0.5]                    # F-beta of the positive class (default [1])
  custom: [{name: tone, command: [python, evals/tone.py], timeout: 60}]   # reads JSONL, prints JSON
  compare_to: [base, pinned]         # default: both
  gate: ["accuracy >= 0.85", "accuracy >= pinned - 0.01"]
  sampling: {temperature: 0, max_tokens: 16, stop: ["\\n"]}
  concurrency: 4                     # requests in flight per model
  budget_usd: 0.50                   # the plan fails when the estimated eval cost is higher
  budget_tokens: 200000              # the same in tokens (for providers without inference prices)
```

The eval is not part of the fingerprint: changing it never retrains. What an eval's numbers depend on (the
metrics, the sampling, the custom commands; not the gate or the comparisons) is ``EvalConfig.key``: results are
cached under it.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from ftops.eval.gate import Rule, rules_of

if TYPE_CHECKING:
    from ftops.spec import DatasetRef, FineTuneSpec

METRICS = ("exact_match", "accuracy", "per_class", "macro_f1", "fbeta", "auroc", "auprc")
DEFAULT_METRICS = ("exact_match", "accuracy")
NEEDS_POSITIVE = ("fbeta", "auroc", "auprc")
THRESHOLD_METRICS = ("auroc", "auprc")  # need log probabilities
COMPARISONS = ("base", "pinned")
DEFAULT_MAX_TOKENS = 64
DEFAULT_CONCURRENCY = 4
DEFAULT_TIMEOUT = 120.0
TOP_LOGPROBS = 5  # alternatives asked for on the first token (the legacy completions API's maximum)


@dataclass(frozen=True)
class Custom:
    """A metric computed by a command of the project's: it reads the predictions as JSONL on stdin and prints a
    JSON object of metric name -> number (or one number) on stdout."""

    name: str
    argv: tuple[str, ...]
    timeout: float = DEFAULT_TIMEOUT


@dataclass(frozen=True)
class EvalConfig:
    data: DatasetRef | None  # None: the spec's validation_file
    metrics: tuple[str, ...] = DEFAULT_METRICS
    positive_class: str | None = None
    betas: tuple[float, ...] = (1.0,)
    custom: tuple[Custom, ...] = ()
    compare_to: tuple[str, ...] = COMPARISONS
    gate: tuple[Rule, ...] = ()
    temperature: float = 0.0
    max_tokens: int = DEFAULT_MAX_TOKENS
    stop: tuple[str, ...] = ()
    seed: int | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    budget_usd: float | None = None
    budget_tokens: int | None = None

    @property
    def logprobs(self) -> bool:
        return any(m in THRESHOLD_METRICS for m in self.metrics)

    @property
    def key(self) -> str:
        """What the numbers depend on besides the model and the data (results are cached under it)."""
        body = {"metrics": list(self.metrics), "positive_class": self.positive_class, "betas": list(self.betas),
                "custom": [asdict(c) for c in self.custom], "temperature": self.temperature,
                "max_tokens": self.max_tokens, "stop": list(self.stop), "seed": self.seed}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


def argv_of(command: Any) -> tuple[str, ...]:
    """A command as an argument vector: a list as it is, a string split as a POSIX shell would (no shell runs)."""
    if isinstance(command, str):
        return tuple(shlex.split(command))
    return tuple(str(c) for c in command or ())


def config_of(raw: dict[str, Any] | None, data: DatasetRef | None = None) -> EvalConfig | None:
    """The spec's eval block (schema-checked), or None without one."""
    if raw is None:
        return None
    sampling = raw.get("sampling") or {}
    stop = sampling.get("stop")
    return EvalConfig(
        data=data,
        metrics=tuple(dict.fromkeys(raw.get("metrics") or DEFAULT_METRICS)),
        positive_class=raw.get("positive_class"),
        betas=tuple(float(b) for b in raw.get("betas") or (1.0,)),
        custom=tuple(Custom(c["name"], argv_of(c["command"]), float(c.get("timeout", DEFAULT_TIMEOUT)))
                     for c in raw.get("custom") or ()),
        compare_to=tuple(dict.fromkeys(raw.get("compare_to", COMPARISONS))),
        gate=tuple(rules_of(raw.get("gate"))),
        temperature=float(sampling.get("temperature", 0.0)),
        max_tokens=int(sampling.get("max_tokens", DEFAULT_MAX_TOKENS)),
        stop=(stop,) if isinstance(stop, str) else tuple(stop or ()),
        seed=sampling.get("seed"),
        concurrency=int(raw.get("concurrency", DEFAULT_CONCURRENCY)),
        budget_usd=raw.get("budget_usd"),
        budget_tokens=raw.get("budget_tokens"),
    )


def of_spec(spec: FineTuneSpec) -> EvalConfig | None:
    return config_of(spec.eval, spec.eval_data)


def fbeta_name(beta: float) -> str:
    return f"f{beta:g}"


def problems(raw: Any, verbs: frozenset[str] | None, provider: str) -> list[tuple[list, str]]:
    """(key path, message) for what the schema cannot say about an eval block (read defensively)."""
    if not isinstance(raw, dict):
        return []
    found: list[tuple[list, str]] = []
    metrics: list[Any] = raw["metrics"] if isinstance(raw.get("metrics"), list) else list(DEFAULT_METRICS)
    needing = [m for m in metrics if m in NEEDS_POSITIVE]
    if needing and not raw.get("positive_class"):
        found.append((["eval", "metrics"], f"{', '.join(needing)} need eval.positive_class (the label that counts "
                                           "as positive, as the legacy classification_positive_class did)"))
    gate = raw.get("gate")
    texts: list[Any] = [gate] if isinstance(gate, str) else gate if isinstance(gate, list) else []
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            continue
        try:
            rules_of(text)
        except ValueError as exc:
            found.append((["eval", "gate"] + ([] if isinstance(gate, str) else [i]), str(exc)))
    names = [c.get("name") for c in raw.get("custom") or [] if isinstance(c, dict)]
    if len(names) != len(set(names)):
        found.append((["eval", "custom"], "custom metric names must be unique"))
    for i, custom in enumerate(raw.get("custom") or []):
        if isinstance(custom, dict) and isinstance(custom.get("command"), (str, list)):
            try:
                if not argv_of(custom["command"]):
                    found.append((["eval", "custom", i, "command"], "the command is empty"))
            except ValueError as exc:  # shlex: an unclosed quote
                found.append((["eval", "custom", i, "command"], f"cannot split the command: {exc}"))
    if verbs is not None and "complete" not in verbs:
        found.append((["eval"], f"provider {provider!r} cannot call its models, so they cannot be evaluated (a ray "
                                "provider can, with serve: {url: ...} in its ftops.yaml block)"))
    return found
