"""The plan for programs: a versioned JSON document described by ``schemas/plan.schema.json``.

Keys come out in the order this module builds them (never sorted, never dependent on dict history), so the same
plan always renders to the same bytes. Bump ``FORMAT_VERSION`` for any change a consumer could notice other than
a new optional key.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

from ftops.plan import Action, Estimate, Notice, Plan
from ftops.render.common import ORDER

if TYPE_CHECKING:
    from ftops.workspace import Workspace

FORMAT_VERSION = 1


def ftops_version() -> str:
    return version("ftops")


def _estimate(est: Estimate | None) -> dict[str, Any] | None:
    if est is None:
        return None
    out: dict[str, Any] = {"examples": est.examples, "billing_tokens": est.billing_tokens, "epochs": est.epochs,
                           "trained_tokens": est.trained_tokens, "usd": est.usd}
    if est.note is not None:
        out["note"] = est.note
    return out


def _stats(stats: dict[str, Any]) -> dict[str, Any]:
    """``{role: {figure: [before, after]}}`` from the plan, spelled out as ``{role: {figure: {before, after}}}``."""
    return {role: {figure: {"before": pair[0], "after": pair[1]} for figure, pair in figures.items()}
            for role, figures in stats.items()}


def _action(action: Action) -> dict[str, Any]:
    models = {"models": list(action.models)} if action.models else {}  # a delete of superseded models
    out: dict[str, Any] = {
        "kind": action.kind,
        "spec": action.spec,
        "provider": action.provider,
        "reasons": list(action.reasons),
        "changes": [{"field": c.field, "before": c.before, "after": c.after} for c in action.changes],
        "fingerprint": action.fingerprint,
        "job_id": action.job_id,
        "model_before": action.model_before,
        "model_after": action.model_after,
        "new_model": action.new_model,
        "moved_from": action.moved_from,
        "after": list(action.after),
        "estimate": _estimate(action.estimate) if action.launches else None,
        "stats": _stats(action.stats),
        **models,
    }
    if action.hourly_usd is not None:  # optional keys: only where a deploy step bills by the hour or is pruned
        out["hourly_usd"] = action.hourly_usd
    if action.undeploy:
        out["undeploy"] = [str(d.get("model")) for d in action.undeploy]
    return out


def _notice(notice: Notice) -> dict[str, Any]:
    return {"level": notice.level, "message": notice.message, "spec": notice.spec, "date": notice.date,
            "days_left": notice.days_left}


def plan_document(plan: Plan, ws: Workspace) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "ftops_version": ftops_version(),
        "project": ws.project,
        "refreshed": plan.refreshed,
        "has_changes": plan.has_changes,
        "has_errors": bool(plan.errors),
        "counts": {kind: sum(1 for a in plan.actions if a.kind == kind) for kind in ORDER},
        "total_usd": plan.total_usd,
        "actions": [_action(a) for a in plan.actions],
        "notices": [_notice(n) for n in plan.notices],
        "unchanged": list(plan.unchanged),
        "hidden": list(plan.hidden),
        "skipped": list(plan.skipped),
        "evals": [view.to_dict() for view in plan.evals],
    }


def failed_document(error: Exception) -> dict[str, Any]:
    """A plan document for a plan that could not be made: no actions, the error and each of its problems as an
    error notice (so a tool reading ``--format json`` always gets a document that validates)."""
    problems = getattr(error, "problems", None) or []
    messages = [str(p) for p in problems] or [getattr(error, "message", str(error))]
    if problems:
        messages.insert(0, getattr(error, "message", str(error)))
    return {
        "format_version": FORMAT_VERSION, "ftops_version": ftops_version(), "project": None, "refreshed": False,
        "has_changes": False, "has_errors": True, "counts": {kind: 0 for kind in ORDER}, "total_usd": None,
        "actions": [], "notices": [{"level": "error", "message": m, "spec": None, "date": None, "days_left": None}
                                   for m in messages],
        "unchanged": [], "hidden": [], "skipped": [], "evals": [],
    }


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False)


def render_json(plan: Plan, ws: Workspace) -> str:
    return dumps(plan_document(plan, ws))
