"""``ftops import``: does a fine-tune made outside ftops match a spec? Pure: compares what the provider says about
the job (``RemoteJob``) with the inputs the spec asks for, input by input, and says for each what did not match
or could not be verified. Nothing is guessed: an input the provider does not report is "cannot verify", which
makes the next plan retrain, never adopt."""

from __future__ import annotations

from typing import Any

from ftops.providers.base import RemoteJob
from ftops.providers.kind import ProviderKind
from ftops.spec import FineTuneSpec


def _same_number(a: Any, b: Any) -> bool:
    try:
        return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)), abs(float(b)))
    except (TypeError, ValueError):
        return str(a) == str(b)


def _same_model(kind: ProviderKind, a: str, b: str) -> bool:
    if a == b:
        return True
    found_a, found_b = kind.lookup(a), kind.lookup(b)
    return found_a.known and found_b.known and found_a.name == found_b.name


def compare(spec: FineTuneSpec, inputs: dict[str, Any], job: RemoteJob, staged: dict[str, str | None],
            kind: ProviderKind) -> list[str]:
    """What keeps ``job`` from being the spec's model: one line per input that differs or that ftops cannot
    verify. ``staged`` maps training_file / validation_file to the id the spec's file has on the provider when
    ftops staged it there (content-addressed), else None. Empty: every input matches."""
    findings: list[str] = []
    caps = kind.capabilities
    base = inputs.get("base_model")
    if not job.model:
        findings.append("base_model: the provider does not say which model the job trained from (cannot verify)")
    elif base and not _same_model(kind, job.model, str(base)):
        findings.append(f"base_model: the job trained from {job.model}; the spec says {base}")
    if job.method is None:
        findings.append(f"method: the provider does not say which method the job used (the spec says "
                        f"{spec.method_type}; cannot verify)")
    elif job.method != spec.method_type:
        findings.append(f"method: the job did {job.method} training; the spec says {spec.method_type}")
    for name, wanted in sorted(spec.hyperparameters.items()):
        rule = caps.accepts(spec.method_type, name)
        wire = (rule.wire or name).rsplit(".", 1)[-1] if rule else name
        got = job.hyperparameters.get(name, job.hyperparameters.get(wire))
        if got is None or got == "auto":
            findings.append(f"{name}: the spec says {wanted}; the provider does not report the job's value "
                            "(cannot verify)")
        elif not _same_number(got, wanted):
            findings.append(f"{name}: the job used {got}; the spec says {wanted}")
    training_type = spec.method.get("training_type")
    if training_type:
        got_type = job.hyperparameters.get("training_type")
        if not isinstance(got_type, str):
            findings.append(f"training_type: the spec says {training_type}; the provider does not report the "
                            "job's (cannot verify)")
        elif got_type.lower() != training_type:
            findings.append(f"training_type: the job trained {got_type.lower()}; the spec says {training_type}")
    for key in ("grader", "response_format"):
        if spec.method.get(key) is not None:
            findings.append(f"{key}: the spec sets one; the provider does not report the job's (cannot verify)")
    if spec.seed is not None:
        if job.seed is None:
            findings.append(f"seed: the spec says {spec.seed}; the provider does not report the job's (cannot "
                            "verify)")
        elif job.seed != spec.seed:
            findings.append(f"seed: the job used {job.seed}; the spec says {spec.seed}")
    sent = "-".join(spec.suffix.split()) if spec.suffix and caps.suffix.normalise_spaces else spec.suffix
    if sent and job.suffix is None:
        findings.append(f"suffix: the spec says {sent!r}; the provider does not report the job's (cannot verify)")
    elif sent and job.suffix != sent and not (job.suffix or "").startswith(sent + "-"):
        findings.append(f"suffix: the job used {job.suffix!r}; the spec says {sent!r}")
    elif not sent and job.suffix and not (job.launch_key and job.suffix.endswith(job.launch_key)):
        findings.append(f"suffix: the job used {job.suffix!r}; the spec sets none")
    if spec.provider_options:
        findings.append("provider_options: the spec sets some; the provider does not report the job's "
                        "(cannot verify)")
    for role in ("training_file", "validation_file"):
        findings += _file_finding(role, inputs.get(role), getattr(job, role), staged.get(role))
    return findings


def _file_finding(role: str, wanted: dict[str, Any] | None, used: str | None, staged: str | None) -> list[str]:
    if wanted is None and used is None:
        return []
    if wanted is None:
        return [f"{role}: the job used {used}; the spec has none"]
    if used is None:
        return [f"{role}: the spec has {wanted['path']}; the job used none" if role == "validation_file" else
                f"{role}: the provider does not say which file the job trained on (cannot verify)"]
    if staged is not None and staged == used:
        return []
    if staged is not None:
        return [f"{role}: the job trained on {used}; {wanted['path']} is {staged} on the provider"]
    return [f"{role}: the job trained on {used}, which ftops did not upload: whether its content is "
            f"{wanted['path']} (sha256 {wanted['sha256'][:12]}…) cannot be verified"]


def observed(job: RemoteJob) -> dict[str, Any]:
    """What the provider said about the job, as recorded in the lockfile entry's ``imported.observed``."""
    out: dict[str, Any] = {"base_model": job.model or None, "method": job.method,
                           "hyperparameters": dict(sorted(job.hyperparameters.items())), "seed": job.seed,
                           "suffix": job.suffix, "training_file": job.training_file,
                           "validation_file": job.validation_file, "trained_tokens": job.trained_tokens}
    return {k: v for k, v in out.items() if v not in (None, {}, "")}
