"""A training run's metrics, provider-neutral: the rows a provider gives (``MetricRow``, by step) summed up as the
final and best losses and accuracies, drawn as a loss curve (terminal text, a Mermaid chart for pull requests),
written as CSV or JSON, and a checkpoint chosen by a spec's ``pin``. Pure: the I/O is in ftops.lifecycle."""

from __future__ import annotations

import csv
import io
import math
from typing import Any

from ftops.errors import PlanError
from ftops.providers.base import METRICS, MetricRow, RemoteCheckpoint, RemoteJob

LOSSES = ("train_loss", "valid_loss")
ACCURACIES = ("train_accuracy", "valid_accuracy")
LABELS = {"train_loss": "training loss", "valid_loss": "validation loss", "train_accuracy": "training accuracy",
          "valid_accuracy": "validation accuracy", "full_valid_loss": "full validation loss",
          "full_valid_accuracy": "full validation accuracy", "learning_rate": "learning rate", "epoch": "epoch"}
CHART_POINTS = 20  # points of a Mermaid chart: enough for the shape, small enough for a PR comment


def series(rows: list[MetricRow], name: str) -> list[tuple[int, float]]:
    return [(r.step, r.values[name]) for r in rows if name in r.values]


def _round(value: float) -> float:
    return float(f"{value:.4g}")


def summarize(rows: list[MetricRow], job: RemoteJob | None = None) -> dict[str, Any]:
    """What the lockfile entry records (``metrics``) and the summary table shows: steps, the final value of each
    loss and accuracy, the best validation loss and its step, and the run's time where the provider says."""
    out: dict[str, Any] = {"steps": max((r.step for r in rows), default=0)}
    for name in LOSSES + ACCURACIES:
        found = series(rows, name)
        if found:
            out[name] = _round(found[-1][1])
    valid = series(rows, "valid_loss")
    if valid:
        step, value = min(valid, key=lambda p: (p[1], p[0]))
        out["best_valid_loss"], out["best_valid_step"] = _round(value), step
    train = series(rows, "train_loss")
    if train:
        out["best_train_loss"] = _round(min(v for _, v in train))
    if job is not None and job.created_at and job.finished_at and job.finished_at >= job.created_at:
        out["seconds"] = int(job.finished_at - job.created_at)
    return out


def duration(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def table(rows: list[MetricRow], job: RemoteJob | None) -> list[str]:
    """The summary table: for each metric its final and best value (and step), then steps, tokens, time."""
    lines = [f"{'metric':<22}{'final':>10}{'best':>10}{'at step':>9}"]
    for name in LOSSES + ACCURACIES:
        found = series(rows, name)
        if not found:
            continue
        pick = min if name in LOSSES else max
        step, best = pick(found, key=lambda p: (p[1] if name in LOSSES else -p[1], p[0]))
        lines.append(f"{LABELS[name]:<22}{found[-1][1]:>10.4f}{best:>10.4f}{step:>9}")
    summary = summarize(rows, job)
    lines.append(f"{'steps':<22}{summary['steps']:>10}")
    tokens = job.trained_tokens if job else None
    lines.append(f"{'trained tokens':<22}{(f'{tokens:,}' if tokens is not None else '-'):>10}")
    lines.append(f"{'time':<22}{duration(summary.get('seconds')):>10}")
    return lines


def sample(points: list[tuple[int, float]], n: int) -> list[tuple[int, float]]:
    """At most ``n`` points, evenly spread, the first and the last kept."""
    if len(points) <= n:
        return points
    picks = sorted({round(i * (len(points) - 1) / (n - 1)) for i in range(n)})
    return [points[i] for i in picks]


def curve(rows: list[MetricRow], width: int = 60, height: int = 12) -> list[str]:
    """The loss curve as text: training loss ``*``, validation loss ``o`` (``#`` where both fall), y axis on the
    left, steps under it. Empty when there is no loss to draw."""
    lines_of = {name: series(rows, name) for name in LOSSES}
    values = [v for pts in lines_of.values() for _, v in pts]
    if not values:
        return []
    low, high = min(values), max(values)
    if math.isclose(low, high):
        low, high = low - 0.5, high + 0.5
    first = min(s for pts in lines_of.values() for s, _ in pts)
    last = max(s for pts in lines_of.values() for s, _ in pts)
    grid = [[" "] * width for _ in range(height)]
    for name, mark in (("train_loss", "*"), ("valid_loss", "o")):
        for step, value in lines_of[name]:
            x = 0 if last == first else round((step - first) * (width - 1) / (last - first))
            y = round((high - value) * (height - 1) / (high - low))
            cell = grid[y][x]
            grid[y][x] = mark if cell in (" ", mark) else "#"
    out = []
    for i, row in enumerate(grid):
        label = f"{high - i * (high - low) / (height - 1):8.3f}" if i in (0, height // 2, height - 1) else " " * 8
        out.append(f"{label} |{''.join(row).rstrip()}")
    out.append(" " * 9 + "+" + "-" * width)
    out.append(" " * 10 + f"step {first}".ljust(width - len(f"step {last}")) + f"step {last}")
    legend = "* training loss" + ("   o validation loss" if lines_of["valid_loss"] else "")
    out.append(" " * 10 + legend)
    return out


def mermaid(rows: list[MetricRow], title: str) -> str:
    """A Mermaid ``xychart-beta`` of the loss (GitHub renders it in a comment): the training loss, and the
    validation loss where the run had a validation file, at up to CHART_POINTS steps. Empty without losses."""
    train = sample(series(rows, "train_loss"), CHART_POINTS)
    if not train:
        return ""
    valid_at = dict(series(rows, "valid_loss"))
    steps = [s for s, _ in train]
    valid = [_nearest(valid_at, s) for s in steps] if valid_at else []
    values = [v for _, v in train] + [v for v in valid if v is not None]
    low, high = min(values), max(values)
    pad = (high - low) * 0.1 or 0.1
    title = title.replace('"', "'")
    bottom, top = math.floor(max(0.0, low - pad) * 100) / 100, math.ceil((high + pad) * 100) / 100
    lines = ["xychart-beta", f'    title "{title}"', f'    x-axis "step" [{", ".join(map(str, steps))}]',
             f'    y-axis "loss" {bottom} --> {top}',
             f"    line [{', '.join(str(_round(v)) for _, v in train)}]"]
    if valid and all(v is not None for v in valid):
        lines.append(f"    line [{', '.join(str(_round(v)) for v in valid if v is not None)}]")
    return "\n".join(lines) + "\n"


def _nearest(values: dict[int, float], step: int) -> float | None:
    """The validation loss at ``step``, or at the nearest step that has one (validation runs less often)."""
    if not values:
        return None
    return values[min(values, key=lambda s: (abs(s - step), s))]


def csv_text(rows: list[MetricRow]) -> str:
    names = [m for m in METRICS if any(m in r.values for r in rows)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["step", *names])
    for row in rows:
        writer.writerow([row.step, *[row.values.get(n, "") for n in names]])
    return buffer.getvalue()


def rows_json(rows: list[MetricRow]) -> list[dict[str, Any]]:
    return [{"step": r.step, **r.values, **({"time": r.time} if r.time is not None else {})} for r in rows]


# -- checkpoints ---------------------------------------------------------------------------------------------
def pin_label(pin: Any) -> str:
    """A spec's ``pin`` in words: "final", "best_valid_loss", "step 120"."""
    if isinstance(pin, dict) and "step" in pin:
        return f"step {pin['step']}"
    return str(pin or "final")


def choose_checkpoint(pin: Any, checkpoints: list[RemoteCheckpoint], job_id: str) -> RemoteCheckpoint:
    """The checkpoint a spec's ``pin`` names among a job's; a PlanError saying what there is when none fits."""
    usable = [c for c in checkpoints if c.model]
    steps = ", ".join(str(c.step) for c in usable) or "none"
    if isinstance(pin, dict) and "step" in pin:
        found = next((c for c in usable if c.step == pin["step"]), None)
        if found is None:
            raise PlanError(f"job {job_id} kept no checkpoint at step {pin['step']} (its checkpoints: steps "
                            f"{steps})", hint="pin one of those steps, or pin: best_valid_loss")
        return found
    if pin == "best_valid_loss":
        scored = [c for c in usable if "valid_loss" in c.metrics]
        if not scored:
            raise PlanError(f"job {job_id}'s checkpoints carry no validation loss (checkpoints at steps {steps})",
                            hint="give the spec a validation_file, or pin: {step: N}")
        return min(scored, key=lambda c: (c.metrics["valid_loss"], -c.step))
    raise PlanError(f"unknown pin {pin!r}; use final, best_valid_loss or {{step: N}}")
