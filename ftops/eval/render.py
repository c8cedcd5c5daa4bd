"""Evals in words and tables: the ``ftops eval`` table, and the eval sections of the plan's text and markdown
formats (the JSON plan has them under ``evals``)."""

from __future__ import annotations

from typing import Any

from ftops.eval.planning import EvalView, MetricRow

COLUMNS = ("base", "pinned", "candidate")


def number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}".rstrip("0").rstrip(".") if value else "0"


def _verdict(passed: bool | None) -> str:
    return "" if passed is None else "pass" if passed else "FAIL"


def table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return [line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows]


def _empty(rows: tuple[MetricRow, ...]) -> bool:
    return all(r.base is None and r.pinned is None and r.candidate is None for r in rows)


def metric_lines(rows: tuple[MetricRow, ...], indent: str = "") -> list[str]:
    if not rows:
        return []
    if _empty(rows):
        return [f"{indent}metrics: {', '.join(r.name for r in rows)}"]
    body = [[r.name, number(r.base), number(r.pinned), number(r.candidate), _verdict(r.passed)] for r in rows]
    return [indent + line for line in table(["metric", "base", "pinned", "candidate", "gate"], body)]


def gate_lines(gate: tuple[dict[str, Any], ...] | list[dict[str, Any]], indent: str = "") -> list[str]:
    out = []
    for check in gate:
        if check.get("passed") is None:
            out.append(f"{indent}gate: {check['rule']}")
            continue
        value = "" if check.get("value") is None else f": {number(check['value'])}"
        against = "" if check.get("threshold") is None else f" vs {number(check['threshold'])}"
        note = f" ({check['note']})" if check.get("note") else ""
        out.append(f"{indent}gate: {check['rule']}{value}{against} {_verdict(check['passed'])}{note}")
    return out


def text_section(views: tuple[EvalView, ...]) -> list[str]:
    if not views:
        return []
    lines = ["", "Evals:"]
    for v in views:
        lines.append(f"  {v.spec}: {v.summary}")
        lines += metric_lines(v.metrics, "      ")
        lines += gate_lines(v.gate, "      ")
    return lines


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("<", "&lt;").replace("\n", " ")


def markdown_section(views: tuple[EvalView, ...]) -> str:
    if not views:
        return ""
    parts = ["#### Evals"]
    for v in views:
        icon = {"held_back": ":no_entry: **candidate held back**", "will_evaluate": ":hourglass: evaluated by apply",
                "accepting": ":white_check_mark: accepted", "pinned": ":white_check_mark: pinned",
                "not_evaluated": ":grey_question: not evaluated"}.get(v.status, v.status)
        parts.append(f"`{_cell(v.spec)}`: {icon}: {_cell(v.summary)}")
        if v.metrics and _empty(v.metrics):
            parts.append("Metrics: " + ", ".join(f"`{_cell(r.name)}`" for r in v.metrics))
        elif v.metrics:
            rows = ["| Metric | Base | Pinned | Candidate | Gate |", "|---|--:|--:|--:|---|"]
            rows += [f"| `{_cell(r.name)}` | {number(r.base)} | {number(r.pinned)} | "
                     f"{number(r.candidate) if r.candidate is not None else '(after apply)' if v.status == 'will_evaluate' else '-'}"
                     f" | {_verdict(r.passed)} |" for r in v.metrics]
            parts.append("\n".join(rows))
        if v.gate:
            parts.append("\n".join(f"- {_cell(line)}" for line in gate_lines(v.gate)))
    return "\n\n".join(parts) + "\n"


def report_lines(spec: str, report: Any) -> list[str]:
    """``ftops eval``'s table: each metric for base, pinned and candidate; then the gate."""
    models = report.models
    lines = [f"{spec}: eval on {report.data['examples']} examples of {report.data['path']}"]
    for role in COLUMNS:
        if role in models:
            result = report.results[role]
            cached = " (cached)" if result.cached else ""
            lines.append(f"  {role}: {models[role]}{cached}")
    rows = [[name] + [number(report.results[r].metrics.get(name)) if r in report.results else "-" for r in COLUMNS]
            for name in report.metric_names]
    lines += ["  " + line for line in table(["metric", *COLUMNS], rows)]
    if report.checks:
        lines += gate_lines([c.to_dict() for c in report.checks], "  ")
        lines.append(f"  gate {'passed' if report.passed else 'FAILED'}")
    return lines
