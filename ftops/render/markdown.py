"""The plan as a pull-request comment (GitHub-flavoured markdown).

The first line is a hidden marker, so a workflow finds its own comment and updates it in place. Then what a
reviewer needs first: the summary, errors and warnings, one table row per action and the total; when a change
touches a spec that other specs continue from, a Mermaid graph of that family; then one collapsible
``<details>`` per spec. GitHub refuses comments over 65,536 characters, so the details (and, for a
very large plan, the table rows) are cut with a note once the comment would pass ``LIMIT``.
"""

from __future__ import annotations

from itertools import groupby
from typing import TYPE_CHECKING

from ftops.plan import Action, Estimate, Notice, Plan
from ftops.render.common import SYMBOLS, count_line, hidden_text, model_change, usd

if TYPE_CHECKING:
    from ftops.providers.base import MetricRow
    from ftops.workspace import Workspace

MARKER = "<!-- ftops-plan -->"
LIMIT = 60_000  # GitHub's 65,536 less room for what a workflow may wrap around the comment
UNCHANGED_NAMES = 50  # beyond this many, unchanged specs are counted, not named
WHY_FIELDS = 4  # changed fields named in the table; the details list them all
CUT_NOTE = "\n_{n} more {what} left out to stay under GitHub's comment size limit; run `ftops plan` for all._\n"
HEADER = ("| | Spec | Action | Why | Examples | Trained tokens | Est. cost | Pinned model (now -> after) |\n"
          "|---|---|---|---|--:|--:|--:|---|")


def cost_cell(est: Estimate) -> str:
    """The cost column: dollars, or the provider's note when it gives none (a self-hosted run's GPUs)."""
    if est.note is None:
        return usd(est.usd)
    return f"{usd(est.usd)} ({est.note})" if est.usd is not None else est.note


def cell(text: object) -> str:
    """Text that stays inside one table cell and renders as written."""
    return (str(text).replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")
            .replace("\r\n", "<br>").replace("\n", "<br>"))


def code(text: object) -> str:
    """A code span in a table cell: only ``|`` and line breaks need care (code shows ``\\`` and ``&lt;`` as is)."""
    if text in (None, ""):
        return ""
    return "`" + str(text).replace("|", "\\|").replace("`", "'").replace("\r\n", " ").replace("\n", " ") + "`"


def _value(value: object) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return f"sha256 {value[:12]}…"
    return str(value)


def _notice(notice: Notice) -> str:
    icon = ":x: **error**" if notice.level == "error" else ":warning: **warning**"
    who = f"{code(notice.spec)}: " if notice.spec else ""
    return f"- {icon} {who}{cell(notice.message)}"


def _why(action: Action) -> str:
    """The reasons in short: changed fields by name (the details show their values)."""
    diffs = {c.text for c in action.changes}
    fields = [c.field for c in action.changes]
    more = f" and {len(fields) - WHY_FIELDS} more" if len(fields) > WHY_FIELDS else ""
    named = [f"changed: {', '.join(fields[:WHY_FIELDS])}{more}"] if fields else []
    return "; ".join(named + [r for r in action.reasons if r not in diffs])


def _row(action: Action) -> str:
    est = action.estimate if action.launches else None
    figures = (f"{est.examples:,}", f"{est.trained_tokens:,}", cell(cost_cell(est))) if est else ("", "", "")
    return "| " + " | ".join([SYMBOLS[action.kind], code(action.spec), f"**{action.kind}**", cell(_why(action)),
                              *figures, cell(model_change(action))]) + " |"


def _count(value: int | None) -> str:
    return "(none)" if value is None else f"{value:,}"


def _before_after(pair: list) -> str:
    before, after = pair
    if before == after:
        return _count(after)
    text = f"{_count(before)} -> {_count(after)}"
    return text + (f" ({after - before:+,})" if isinstance(before, int) and isinstance(after, int) else "")


def _chart(spec: str, action: Action, rows: list[MetricRow]) -> list[str]:
    """The loss curve of a job that finished, as a Mermaid chart (the first line is the training loss, the second
    the validation loss), with its final figures."""
    from ftops.results import mermaid, summarize

    chart = mermaid(rows, f"{spec}: loss by step (job {action.job_id})")
    if not chart:
        return []
    summary = summarize(rows)
    figures = ", ".join(f"{label} {summary[key]}" for key, label in (
        ("train_loss", "final training loss"), ("valid_loss", "final validation loss"),
        ("best_valid_loss", "best validation loss")) if key in summary)
    legend = "training loss" + (", then validation loss" if "valid_loss" in summary else "")
    return ["", f"Training metrics ({summary['steps']} steps; lines: {legend}): {cell(figures)}", "",
            "```mermaid", chart.rstrip("\n"), "```"]


def _details(spec: str, actions: list[Action], curves: dict[str, list[MetricRow]] | None = None) -> str:
    kinds = ", ".join(a.kind for a in actions)
    lines = [f"<details><summary>{SYMBOLS[actions[0].kind]} <code>{cell(spec)}</code>: {kinds}</summary>", ""]
    for action in actions:
        lines += [f"- {cell(reason)}" for reason in action.reasons]
        if action.after:
            lines.append(f"- runs after: {', '.join(code(a) for a in action.after)}")
        if action.job_id:
            lines.append(f"- job: {code(action.job_id)}")
        if action.changes:
            lines += ["", "| Field | Before | After |", "|---|---|---|"]
            lines += [f"| {code(c.field)} | {code(_value(c.before))} | {code(_value(c.after))} |"
                      for c in action.changes]
        if action.stats:
            lines += ["", "| Dataset | Examples | Tokens |", "|---|--:|--:|"]
            lines += [f"| {code(role)} | {_before_after(f['examples'])} | {_before_after(f['tokens'])} |"
                      for role, f in action.stats.items()]
        if curves and action.job_id and curves.get(action.job_id):
            lines += _chart(spec, action, curves[action.job_id])
        lines.append("")
    lines.append("</details>")
    return "\n".join(lines)


def _heading(plan: Plan, ws: Workspace) -> str:
    lines = [MARKER, f"### ftops plan for `{cell(ws.project)}`: {count_line(plan)}"]
    if not plan.refreshed:
        lines += ["", "> [!NOTE]", "> Planned with `--no-refresh`: from the lockfile alone. Jobs and models on the "
                  "providers were not checked (drift and finished jobs do not show)."]
    return "\n".join(lines)


def _tail(plan: Plan) -> str:
    total = f"**Estimated training cost: {usd(plan.total_usd)}**" if plan.total_usd is not None else ""
    names = plan.unchanged
    unchanged = (f"Unchanged: {', '.join(code(n) for n in names)}" if len(names) <= UNCHANGED_NAMES else
                 f"Unchanged: {len(names)} specs") if names else ""
    return "\n\n".join(t for t in (total, unchanged, hidden_text(plan, code)) if t)


def _fit(parts: list[str], room: int, what: str, sep: str, header: str = "") -> str:
    """``header`` and as many of ``parts`` as fit in ``room`` characters, with a note saying how many did not."""
    room -= len(header) + len(CUT_NOTE) + 20
    kept: list[str] = []
    for part in parts:
        room -= len(part) + len(sep)
        if room < 0:
            break
        kept.append(part)
    block = sep.join(([header] if header else []) + kept) if kept else ""
    left = len(parts) - len(kept)
    return block + ("\n" + CUT_NOTE.format(n=left, what=what) if left else "")


def _family_graph(plan: Plan, ws: Workspace) -> str:
    """A Mermaid graph of the specs that continue from a spec this plan touches (they retrain after it); empty
    when no touched spec has children."""
    touched = {a.spec for a in plan.actions}
    parents = sorted(name for name in touched if any(s.parent == name for s in ws.specs))
    if not parents:
        return ""
    from ftops import graph

    whole = graph.build(ws.specs, ws.lock, {n: p.type for n, p in ws.config.providers.items()})
    chart = graph.mermaid(graph.subgraph(whole, graph.family(whole, parents)), changed=touched)
    block = (f"**Specs that continue from {', '.join(code(p) for p in parents)}** (changed ones in bold outline; "
             f"children retrain after their parent)\n\n```mermaid\n{chart}```")
    return block if len(block) < LIMIT // 4 else ""


def render_markdown(plan: Plan, ws: Workspace, curves: dict[str, list[MetricRow]] | None = None) -> str:
    """Heading, notices, table and total always come first; notices, rows and details are cut to fit LIMIT.
    ``curves``: the training metrics of jobs that finished (job id -> rows), drawn in their spec's details."""
    heading, tail, family = _heading(plan, ws), _tail(plan), _family_graph(plan, ws)
    if plan.evals:  # the numbers reviewers decide on: after the total, before the graph and the details
        from ftops.eval.render import markdown_section

        section = markdown_section(plan.evals)
        tail = tail + "\n\n" + (section if len(section) < LIMIT // 4 else section[:LIMIT // 4] +
                                 CUT_NOTE.format(n="some", what="eval rows"))
    notices = _fit([_notice(n) for n in plan.notices], LIMIT // 4, "notices", "\n")
    rows = _fit([_row(a) for a in plan.actions], LIMIT - len(heading + notices + tail + family), "actions", "\n",
                HEADER)
    by_spec = [_details(spec, list(group), curves) for spec, group in groupby(plan.actions, key=lambda a: a.spec)]
    details = _fit(by_spec, LIMIT - len(heading + notices + rows + tail + family), "specs' details", "\n\n")
    return "\n".join(part.strip("\n") + "\n" for part in (heading, notices, rows, tail, family, details) if part)
