"""Words and numbers shared by every plan format."""

from __future__ import annotations

from typing import Callable

from ftops.cost import format_usd as usd  # noqa: F401  (re-exported for the renderers)
from ftops.plan import Action, Estimate, Plan

SYMBOLS = {"create": "+", "adopt": "<", "replace": "~", "drift": "!", "retry": "↻", "wait": "…",
           "record": "=", "move": ">", "update": "~", "repair": "!", "forget": "-", "delete": "x"}
ORDER = ("create", "adopt", "replace", "drift", "retry", "wait", "record", "move", "update", "repair", "forget",
         "delete")


def count_line(plan: Plan) -> str:
    counts = {k: sum(1 for a in plan.actions if a.kind == k) for k in ORDER}
    parts = [f"{n} to {k}" for k, n in counts.items() if n]
    return ", ".join(parts) if parts else "no changes"


def hidden_text(plan: Plan, name: Callable[[str], str] = str) -> str:
    """What --target left out, so that "no changes" is never read as the whole project's state."""
    if not plan.hidden:
        return ""
    return (f"Not in this plan (--target): {len(plan.hidden)} other spec(s) with changes pending: "
            f"{', '.join(name(n) for n in plan.hidden)}.")


def estimate_text(action: Action) -> str:
    est = action.estimate
    if not est or not action.launches:
        return ""
    return (f"{est.examples:,} examples, {est.billing_tokens:,} tokens x {est.epochs} epochs = "
            f"{est.trained_tokens:,} trained tokens, {cost_text(est)}")


def cost_text(est: Estimate) -> str:
    """"est. $1.20"; with the provider's note: "est. $1.20 (0.5 GPU-hours at ...)", or the note alone when it
    gives no dollars ("requests 1 GPU; no price ...")."""
    if est.note is None:
        return f"est. {usd(est.usd)}"
    return f"est. {usd(est.usd)} ({est.note})" if est.usd is not None else est.note


def model_change(action: Action) -> str:
    before = action.model_before or "(none)"
    after = action.model_after or ("(removed from lockfile)" if action.kind in ("forget", "delete") else before)
    return before if before == after else f"{before} -> {after}"
