"""The plan for a terminal or a CI log."""

from __future__ import annotations

from ftops.plan import Plan
from ftops.render.common import SYMBOLS, count_line, estimate_text, hidden_text, model_change, usd

ANSI = {"red": 31, "green": 32, "yellow": 33, "magenta": 35, "cyan": 36}
COLOURS = {"create": "green", "adopt": "cyan", "replace": "yellow", "drift": "red", "retry": "yellow",
           "wait": "cyan", "record": "green", "move": "cyan", "update": "yellow", "repair": "red", "forget": "magenta",
           "delete": "red"}


def render_text(plan: Plan, *, source: str, colour: bool = False) -> str:
    def style(text: str, fg: str, bold: bool = False) -> str:
        if not colour:
            return text
        return f"\033[{'1;' if bold else ''}{ANSI[fg]}m{text}\033[0m"

    lines = []
    if plan.refreshed:
        lines.append(f"Plan made against {source} (provider state refreshed).")
    else:
        lines.append("Plan made from the lockfile alone (--no-refresh): jobs and models on the provider were "
                     "not checked.")
    for notice in plan.notices:
        tag = style("ERROR", "red", True) if notice.level == "error" else style("WARNING", "yellow", True)
        who = f"{notice.spec}: " if notice.spec else ""
        lines.append(f"{tag} {who}{notice.message}")
    lines.append("")
    for action in plan.actions:
        head = f"  {SYMBOLS[action.kind]} {action.kind:<8} {action.spec}"
        lines.append(style(head, COLOURS[action.kind], bold=True))
        for reason in action.reasons:
            lines.append(f"      {reason}")
        est = estimate_text(action)
        if est:
            lines.append(f"      {est}")
        lines.append(f"      model: {model_change(action)}")
        if action.after:
            lines.append(f"      runs after: {', '.join(action.after)}")
    if plan.unchanged:
        lines.append(f"  unchanged: {', '.join(plan.unchanged)}")
    if plan.hidden:
        lines.append(f"  {hidden_text(plan)}")
    if plan.evals:
        from ftops.eval.render import text_section

        lines += text_section(plan.evals)
    lines.append("")
    summary = f"Plan: {count_line(plan)}."
    if plan.total_usd is not None:
        summary += f" Estimated training cost: {usd(plan.total_usd)}."
    lines.append(summary)
    return "\n".join(lines)
