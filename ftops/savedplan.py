"""Saved plans: ``ftops plan --out FILE`` writes the JSON plan plus what it was made from; ``ftops apply FILE``
applies exactly that plan or refuses.

A saved plan records the sha256 of ftops.yaml, of every spec file, of every dataset and of the lockfile. Apply
refuses it when any of them changed, when it was already applied (``saved.applied_at``, written into the plan
file), when another ftops version made it, or when the fresh plan's actions differ (kind, spec, fingerprint, and
the job of an adopt, record or wait).
Plans hold no secrets: a Plan has none to give.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftops.errors import PlanError
from ftops.plan import Plan
from ftops.render.json_plan import FORMAT_VERSION, dumps, ftops_version, plan_document
from ftops.schema import validate
from ftops.spec import spec_files
from ftops.yamlload import Document

if TYPE_CHECKING:
    from ftops.workspace import Workspace


def _sha256(path: Path | None) -> str | None:
    if path is None or not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def inputs_digest(ws: Workspace) -> dict[str, Any]:
    """What a plan was made from, as sha256 digests (datasets come hashed from the dataset checker)."""
    config = ws.config
    return {
        "config": _sha256(config.config_file),
        "lockfile": _sha256(config.lockfile),
        "spec_files": {config.rel(p): _sha256(p) for p in spec_files(config)},
        "datasets": {str(r.path): r.sha256 for roles in ws.reports.values() for r in roles.values()},
    }


def _write(path: Path, document: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(dumps(document) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise PlanError(f"cannot write the plan to {path}: {exc.strerror or exc}",
                        hint="give --out a file path in a directory that exists and you can write to") from None


def save_plan(path: Path, plan: Plan, ws: Workspace, *, prune: bool, targets: list[str]) -> None:
    document = plan_document(plan, ws)
    document["saved"] = {"plan_id": uuid.uuid4().hex, "created_at": _now(), "prune": prune,
                         "targets": sorted(targets), **inputs_digest(ws), "applied_at": None}
    _write(path, document)


def _changed(what: str, before: dict[str, str], after: dict[str, str]) -> list[str]:
    out = [f"{what} {name} changed" for name in sorted(before.keys() & after.keys()) if before[name] != after[name]]
    out += [f"{what} {name} was added" for name in sorted(after.keys() - before.keys())]
    return out + [f"{what} {name} was removed" for name in sorted(before.keys() - after.keys())]


def stale_reasons(saved: dict[str, Any], now: dict[str, Any]) -> list[str]:
    reasons = ["ftops.yaml changed"] if saved["config"] != now["config"] else []
    if saved["lockfile"] != now["lockfile"]:
        reasons.append("the lockfile changed (another apply ran since)")
    return reasons + _changed("spec file", saved["spec_files"], now["spec_files"]) + \
        _changed("dataset", saved["datasets"], now["datasets"])


@dataclass(frozen=True)
class SavedPlan:
    path: Path
    document: dict[str, Any]

    @property
    def prune(self) -> bool:
        return self.document["saved"]["prune"]

    @property
    def targets(self) -> list[str]:
        return list(self.document["saved"]["targets"])

    def check_matches(self, plan: Plan) -> None:
        saved = [_key(a["kind"], a["spec"], a["fingerprint"], a.get("job_id")) for a in self.document["actions"]]
        fresh = [_key(a.kind, a.spec, a.fingerprint, a.job_id) for a in plan.actions]
        if saved == fresh:
            return
        raise PlanError(f"{self.path}: the providers changed since the plan was made: it would now {_show(fresh)}, "
                        f"but the saved plan says {_show(saved)}",
                        hint="make a new plan with `ftops plan --out FILE`")


# Actions that act on one particular existing job: the same kind and inputs on another job is another plan.
_ON_A_JOB = frozenset({"adopt", "record", "wait"})


def _key(kind: str, spec: str, fingerprint: str | None, job_id: str | None) -> tuple:
    return kind, spec, fingerprint, job_id if kind in _ON_A_JOB else None


def _show(keys: list[tuple]) -> str:
    return ", ".join(f"{kind} {spec}" + (f" (job {job})" if job else "") for kind, spec, _, job in keys) or "nothing"


def _read(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlanError(f"no saved plan at {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PlanError(f"{path} is not a saved ftops plan: {exc}") from None
    if not isinstance(document, dict) or "format_version" not in document:
        raise PlanError(f"{path} is not a saved ftops plan (no format_version)")
    if document["format_version"] != FORMAT_VERSION:
        raise PlanError(f"{path} has plan format_version {document['format_version']!r}; this ftops reads "
                        f"{FORMAT_VERSION}")
    if "saved" not in document:
        raise PlanError(f"{path} is a plan printed with --format json, not saved with `ftops plan --out FILE`; "
                        "it does not record what it was made from, so it cannot be applied")
    problems = validate(Document(data=document, file=str(path)), "plan")
    if problems:
        raise PlanError(f"{path} is not a valid saved plan (edited or corrupt)", problems=problems[:5])
    return document


def load_saved_plan(path: Path, ws: Workspace) -> SavedPlan:
    document = _read(path)
    saved = document["saved"]
    if saved["applied_at"]:
        raise PlanError(f"{path} was already applied at {saved['applied_at']}; a saved plan applies once",
                        hint="make a new plan with `ftops plan --out FILE`")
    if document["ftops_version"] != ftops_version():
        raise PlanError(f"{path} was made by ftops {document['ftops_version']}; this is ftops {ftops_version()}",
                        hint="make a new plan with this version")
    stale = stale_reasons(saved, inputs_digest(ws))
    if stale:
        raise PlanError(f"{path} is stale: {'; '.join(stale)}", hint="make a new plan with `ftops plan --out FILE`")
    return SavedPlan(path, document)


def mark_applied(path: Path) -> None:
    document = _read(path)
    document["saved"]["applied_at"] = _now()
    _write(path, document)
