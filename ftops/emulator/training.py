"""What a simulated training run produces: resolved hyperparameters, step metrics, checkpoints, result CSV.

All of it is a pure function of the job's seed and its dataset size, so restarts and other processes agree.
"""

from __future__ import annotations

import math
import random

from ftops import cost

RESULT_HEADER = "step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy"
MAX_RESULT_ROWS = 10_000
_METHOD_DEFAULTS: dict[str, dict[str, object]] = {"supervised": {}, "dpo": {"beta": 0.1},
                    "reinforcement": {"compute_multiplier": 1.0, "eval_interval": 1, "eval_samples": 1,
                                      "reasoning_effort": "default"}}


def resolve(method: dict, n_examples: int) -> dict:
    """The method's hyperparameters with every "auto" replaced by the value the run uses."""
    kind = method["type"]
    given = dict(method[kind].get("hyperparameters") or {})
    batch = given.get("batch_size", "auto")
    if batch == "auto":
        batch = max(1, min(256, math.ceil(n_examples * 0.002)))
    lr = given.get("learning_rate_multiplier", "auto")
    if lr == "auto":
        lr = 1.8 if batch <= 8 else 1.0
    resolved = {**given, "batch_size": batch, "learning_rate_multiplier": lr,
                "n_epochs": cost.resolve_epochs(n_examples, given.get("n_epochs", "auto"))}
    for name, default in _METHOD_DEFAULTS[kind].items():
        if resolved.get(name, "auto") == "auto":
            resolved[name] = default
    return resolved


def total_steps(n_examples: int, hyperparameters: dict) -> int:
    return math.ceil(n_examples / hyperparameters["batch_size"]) * hyperparameters["n_epochs"]


def metrics(seed: int, step: int, steps: int, with_validation: bool) -> dict:
    """Plausible, deterministic metrics at ``step``: loss falls, accuracy rises."""
    rng = random.Random(seed * 1_000_003 + step)
    progress = step / max(1, steps)
    loss = round(0.2 + 1.8 * math.exp(-3 * progress) + rng.uniform(-0.05, 0.05), 4)
    values = {"step": step, "train_loss": loss, "train_mean_token_accuracy": round(min(0.99, 1 - loss / 2.5), 4)}
    if with_validation:
        valid = round(loss + 0.05 + rng.uniform(0, 0.05), 4)
        values.update(valid_loss=valid, valid_mean_token_accuracy=round(min(0.99, 1 - valid / 2.5), 4))
    return values


def checkpoint_steps(steps: int) -> list[int]:
    """Up to three distinct, increasing steps, the last at the end of training (OpenAI keeps the last three
    epochs); a run of one or two steps has that many."""
    return sorted({max(1, round(steps * k / 3)) for k in (1, 2, 3)})


def result_csv(seed: int, steps: int, with_validation: bool) -> bytes:
    lines = [RESULT_HEADER]
    stride = max(1, math.ceil(steps / MAX_RESULT_ROWS))
    for step in range(1, steps + 1, stride):
        m = metrics(seed, step, steps, with_validation)
        lines.append(",".join(str(m.get(k, "")) for k in ("step", "train_loss", "train_mean_token_accuracy",
                                                           "valid_loss", "valid_mean_token_accuracy")))
    return ("\n".join(lines) + "\n").encode()
