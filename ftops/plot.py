"""A loss curve as a PNG, with matplotlib (the optional ``plot`` extra, imported only here, only when asked)."""

from __future__ import annotations

from pathlib import Path

from ftops.errors import FtopsError
from ftops.providers.base import MetricRow
from ftops.results import LABELS, series

WIDTH, HEIGHT, DPI = 8.0, 4.5, 100  # inches and dots per inch: an 800 x 450 image


def write_png(rows: list[MetricRow], path: Path, title: str) -> tuple[int, int]:
    """Training (and validation) loss against step, written to ``path``; returns its pixel size."""
    try:
        import matplotlib
    except ImportError:
        raise FtopsError("--plot needs matplotlib, which is not installed",
                         hint="pip install 'ftops[plot]' (or see the curve in the terminal without --plot)") from None
    matplotlib.use("Agg", force=True)  # no display: a file only
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI)
    axes = figure.add_subplot()
    drawn = 0
    for name, style in (("train_loss", "-"), ("valid_loss", "--")):
        points = series(rows, name)
        if points:
            axes.plot([s for s, _ in points], [v for _, v in points], style, label=LABELS[name], linewidth=1.6)
            drawn += 1
    if not drawn:
        raise FtopsError("the job's metrics have no loss to plot")
    axes.set_xlabel("step")
    axes.set_ylabel("loss")
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    axes.legend()
    figure.tight_layout()
    try:
        figure.savefig(path, format="png", dpi=DPI)
    except OSError as exc:
        raise FtopsError(f"cannot write {path}: {exc.strerror or exc}") from None
    return int(WIDTH * DPI), int(HEIGHT * DPI)
