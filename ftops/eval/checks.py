"""The spec checks of evals, run by ``ftops.spec.load_specs`` beside the schema: legacy keys get their migration
message instead of "unknown key", and an eval block gets the checks the schema cannot express (a positive class
where a metric needs one, gate rules that parse, a provider that can call its models)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ftops.errors import Problem
from ftops.eval import config, legacy

if TYPE_CHECKING:
    from ftops.config import ProviderConfig
    from ftops.yamlload import Document


def _legacy(problem: Problem) -> bool:
    return problem.message.startswith("unknown key") and (problem.key or "").split(".")[-1] in legacy.LEGACY


def spec_problems(doc: Document, found: list[Problem], pconf: ProviderConfig | None) -> list[Problem]:
    """``found`` (the schema's and the provider's problems of ``doc``) with legacy keys explained, plus the eval
    block's own problems."""
    data = doc.data if isinstance(doc.data, dict) else {}
    values = legacy.legacy_keys(data)
    out = [p for p in found if not _legacy(p)]
    if values:
        where = next((p for p in found if _legacy(p)), None)
        line = where.line if where else None
        classification = {k: v for k, v in values.items() if k in legacy.CLASSIFICATION}
        if classification:
            first = next(k for k in legacy.CLASSIFICATION if k in classification)
            out.append(Problem(legacy.classification_message(classification), file=doc.file,
                               line=_line(doc, first) or line, key=first))
        if legacy.PROMPT_LOSS_WEIGHT in values:
            out.append(Problem(legacy.PROMPT_LOSS_MESSAGE, file=doc.file,
                               line=_line(doc, legacy.PROMPT_LOSS_WEIGHT) or line, key=legacy.PROMPT_LOSS_WEIGHT))
    if "eval" in data and not any((p.key or "").startswith("eval") for p in out):
        verbs = None
        label = ""
        if pconf is not None:
            from ftops.providers.registry import kind as kind_of

            verbs = kind_of(pconf.type).effective(pconf).capabilities.verbs
            label = pconf.name
        block = data["eval"] if isinstance(data["eval"], dict) else {}
        if not block.get("data") and not data.get("validation_file"):
            out.append(Problem("an eval needs held-out examples: set eval.data, or validation_file (the default)",
                               file=doc.file, line=doc.line_of(["eval"]), key="eval"))
        for path, message in config.problems(data["eval"], verbs, label):
            out.append(Problem(message, file=doc.file, line=doc.line_of(path), key=".".join(map(str, path))))
    return sorted(out, key=lambda p: (p.line or 0, p.key or ""))


def _line(doc: Document, key: str) -> int | None:
    data = doc.data if isinstance(doc.data, dict) else {}
    if key in data:
        return doc.line_of([key])
    return doc.line_of(["method", "hyperparameters", key])
