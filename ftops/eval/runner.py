"""Running an eval: every case is sent to each model through its provider's ``complete`` verb (concurrently, at
most ``concurrency`` requests in flight; each request retried as training calls are), the answers scored, the
metrics computed, the gate checked.

Results are cached per model under ``.ftops/eval/`` by (provider, model, eval data sha256, ``EvalConfig.key``): a
second run (a re-plan, the base model of the next candidate, ``ftops eval`` after an apply) calls nothing again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import threading
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, cast

from ftops.errors import FtopsError
from ftops.eval import EvalError, custom, gate, metrics
from ftops.eval.config import EvalConfig, TOP_LOGPROBS, fbeta_name
from ftops.eval.data import Case, EvalData
from ftops.providers.base import Completes, Provider
from ftops.providers.inference import Completion, CompletionRequest

ROLES = ("candidate", "pinned", "base")
CACHE_VERSION = 1
DIGITS = 6


@dataclass(frozen=True)
class Prediction:
    line: int
    expected: str
    output: str
    score: float | None  # the probability of the positive class, where it was asked for
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class ModelResult:
    model: str
    metrics: dict[str, float | None]
    examples: int
    prompt_tokens: int
    completion_tokens: int
    logprobs: bool  # the provider answered with log probabilities
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "metrics": dict(self.metrics), "examples": self.examples,
                "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "logprobs": self.logprobs}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelResult":
        return cls(model=data["model"], metrics=dict(data["metrics"]), examples=int(data["examples"]),
                   prompt_tokens=int(data["prompt_tokens"]), completion_tokens=int(data["completion_tokens"]),
                   logprobs=bool(data["logprobs"]), cached=True)


@dataclass
class Report:
    """One eval of a candidate (and the models it is compared with)."""

    key: str
    data: dict[str, Any]
    models: dict[str, str]  # role -> model
    results: dict[str, ModelResult]
    checks: list[gate.Check] = field(default_factory=list)
    at: str = ""

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def metric_names(self) -> list[str]:
        names: dict[str, None] = {}
        for role in ROLES:
            if role in self.results:
                names.update(dict.fromkeys(self.results[role].metrics))
        return list(names)

    def values(self) -> dict[str, dict[str, float | None]]:
        return {role: dict(result.metrics) for role, result in self.results.items()}

    def record(self) -> dict[str, Any]:
        """What the lockfile keeps (``eval`` of the pinned model, or of a held-back candidate)."""
        return {"key": self.key, "data": dict(self.data), "at": self.at,
                "models": {r: self.models[r] for r in ROLES if r in self.models},
                "metrics": {name: {r: self.results[r].metrics.get(name) for r in ROLES if r in self.results}
                            for name in self.metric_names},
                "gate": [c.to_dict() for c in self.checks], "passed": self.passed}


def eval_key(cfg: EvalConfig, data: EvalData) -> str:
    """What a held-back candidate's verdict depends on: the numbers' config, the gate, the comparisons and the data
    (a change evaluates it again; its numbers mostly come from the cache)."""
    verdict = hashlib.sha256(json.dumps([[r.text for r in cfg.gate], list(cfg.compare_to)]).encode()).hexdigest()
    return f"{cfg.key}:{verdict[:8]}:{data.sha256[:16]}"


def positive_score(found: Completion, positive: str) -> float | None:
    """P(positive class) from the first token's alternatives (tokens that begin the positive label); None when the
    provider gave no log probabilities."""
    if not found.first_token:
        return None
    want = metrics.label(positive)
    total = 0.0
    for token, logprob in found.first_token:
        piece = metrics.label(token)
        if piece and want.startswith(piece):
            total += math.exp(logprob)
    return min(1.0, total)


def compute(cfg: EvalConfig, predictions: list[Prediction]) -> dict[str, float | None]:
    expected = [metrics.label(p.expected) for p in predictions]
    predicted = [metrics.label(p.output) for p in predictions]
    out: dict[str, float | None] = {}
    for name in cfg.metrics:
        if name == "exact_match":
            out[name] = metrics.exact_match([p.expected for p in predictions], [p.output for p in predictions])
        elif name == "accuracy":
            out[name] = metrics.accuracy(expected, predicted)
        elif name == "macro_f1":
            out[name] = metrics.macro_f1(expected, predicted)
        elif name == "per_class":
            for cls in sorted(set(expected)):
                out[f"precision[{cls}]"] = metrics.precision(expected, predicted, cls)
                out[f"recall[{cls}]"] = metrics.recall(expected, predicted, cls)
                out[f"f1[{cls}]"] = metrics.fbeta(expected, predicted, cls, 1.0)
        elif name == "fbeta" and cfg.positive_class:
            positive = metrics.label(cfg.positive_class)
            out["precision"] = metrics.precision(expected, predicted, positive)
            out["recall"] = metrics.recall(expected, predicted, positive)
            for beta in cfg.betas:
                out[fbeta_name(beta)] = metrics.fbeta(expected, predicted, positive, beta)
        elif name in ("auroc", "auprc") and cfg.positive_class:
            positive = metrics.label(cfg.positive_class)
            truth = [e == positive for e in expected]
            scores = [p.score if p.score is not None else float(metrics.label(p.output) == positive)
                      for p in predictions]
            out[name] = (metrics.auroc if name == "auroc" else metrics.auprc)(truth, scores)
    return {k: (round(v, DIGITS) if v is not None else None) for k, v in out.items()}


class Cache:
    def __init__(self, directory: Path | None):
        self.directory = directory

    def _path(self, key: str) -> Path | None:
        return self.directory / "eval" / f"result-{key}.json" if self.directory is not None else None

    def get(self, key: str) -> ModelResult | None:
        path = self._path(key)
        if path is None:
            return None
        try:
            found = json.loads(path.read_text(encoding="utf-8"))
            return ModelResult.from_dict(found["result"]) if found.get("version") == CACHE_VERSION else None
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, result: ModelResult, predictions: list[Prediction]) -> None:
        path = self._path(key)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            body = {"version": CACHE_VERSION, "result": result.to_dict(),
                    "predictions": [p.__dict__ for p in predictions]}
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
            tmp.replace(path)
        except OSError:
            pass  # a cache: the next run asks again


@dataclass
class Runner:
    """Evaluates models of one provider for one spec's eval."""

    provider: Provider
    cfg: EvalConfig
    data: EvalData
    root: Path  # the project root (custom metric commands run there)
    cache: Cache = field(default_factory=lambda: Cache(None))
    secrets: set[str] = field(default_factory=set)  # environment variables holding keys (kept from commands)
    say: Callable[[str], None] = lambda text: None
    stop: threading.Event = field(default_factory=threading.Event)

    def _request(self, model: str, case: Case) -> CompletionRequest:
        return CompletionRequest(model=model, messages=case.messages, prompt=case.prompt,
                                 max_tokens=self.cfg.max_tokens, temperature=self.cfg.temperature,
                                 stop=self.cfg.stop, top_logprobs=TOP_LOGPROBS if self.cfg.logprobs else 0,
                                 seed=self.cfg.seed)

    def _call(self, model: str, case: Case) -> Prediction:
        if self.stop.is_set():
            raise EvalError("stopped")
        found = cast(Completes, self.provider).complete(self._request(model, case))
        score = positive_score(found, self.cfg.positive_class) if self.cfg.positive_class else None
        return Prediction(case.line, case.expected, found.text, score, found.prompt_tokens or 0,
                          found.completion_tokens or 0)

    def predictions(self, model: str) -> list[Prediction]:
        """Every case's answer, in the data's order; the first failure stops the rest (raised as EvalError)."""
        cases = list(self.data.cases)
        with ThreadPoolExecutor(max_workers=max(1, min(self.cfg.concurrency, len(cases))),
                                thread_name_prefix="ftops-eval") as pool:
            futures = [pool.submit(self._call, model, case) for case in cases]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failed = next((f for f in done if f.exception() is not None), None)
            if failed is not None:
                self.stop.set()
                for future in futures:
                    future.cancel()
                error = failed.exception()
                if isinstance(error, FtopsError):
                    raise EvalError(f"calling {model}: {error}", hint=getattr(error, "hint", None)) from None
                raise cast(BaseException, error)
            return [f.result() for f in futures]

    def evaluate(self, model: str) -> ModelResult:
        key = hashlib.sha256(json.dumps([self.provider.name, model, self.data.sha256, self.cfg.key])
                             .encode()).hexdigest()[:32]
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        self.say(f"evaluating {model} on {len(self.data.cases)} examples of {self.data.rel}")
        predictions = self.predictions(model)
        values = compute(self.cfg, predictions)
        rows = [{"line": p.line, "input": c.input, "expected": p.expected, "output": p.output, "model": model}
                for p, c in zip(predictions, self.data.cases)]
        for command in self.cfg.custom:
            values.update({k: round(v, DIGITS) for k, v in
                           custom.run(command, rows, root=self.root, secrets=self.secrets).items()})
        used = sum(p.prompt_tokens + p.completion_tokens for p in predictions)
        if self.cfg.budget_tokens is not None and used > self.cfg.budget_tokens:
            raise EvalError(f"evaluating {model} used {used:,} tokens, over eval.budget_tokens "
                            f"{self.cfg.budget_tokens:,}")
        result = ModelResult(model, values, len(predictions), sum(p.prompt_tokens for p in predictions),
                             sum(p.completion_tokens for p in predictions),
                             logprobs=not self.cfg.logprobs or all(p.score is not None for p in predictions))
        self.cache.put(key, result, predictions)
        return result

    def run(self, models: dict[str, str], now: dt.datetime | None = None) -> Report:
        """Evaluate each role's model (one result per distinct model) and check the gate on the candidate."""
        results: dict[str, ModelResult] = {}
        by_model: dict[str, ModelResult] = {}
        for role in ROLES:
            model = models.get(role)
            if not model:
                continue
            if model not in by_model:
                by_model[model] = self.evaluate(model)
            results[role] = by_model[model]
        report = Report(key=eval_key(self.cfg, self.data), data=self.data.record(),
                        models={r: m for r, m in models.items() if m}, results=results,
                        at=(now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0).isoformat()
                        .replace("+00:00", "Z"))
        if "candidate" in results:
            report.checks = gate.check(list(self.cfg.gate), report.values())
        return report
