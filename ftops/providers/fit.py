"""Does a spec fit its provider? Every setting the chosen provider type cannot honour is an error naming the
field, the provider and what it accepts; nothing is silently dropped. Pure: reads only what the provider type
declares (its capabilities and its catalog)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ftops.errors import Problem
from ftops.schema import validate_part
from ftops.providers.registry import kind as kind_of

if TYPE_CHECKING:
    from ftops.config import ProviderConfig
    from ftops.yamlload import Document

LORA = ("lora_rank", "lora_alpha", "lora_dropout")
# A neutral name a provider does not take, and the one it may take instead (said in the message).
INSTEAD = {"learning_rate_multiplier": "learning_rate (an absolute rate; a multiplier is never converted)",
           "learning_rate": "learning_rate_multiplier (relative to the provider's own rate)",
           "warmup_ratio": "warmup_steps", "warmup_steps": "warmup_ratio"}


def spec_problems(data: dict, pconf: ProviderConfig, doc: Document) -> list[Problem]:
    """Problems of one spec document (as written) on ``pconf``'s provider. Reads the document defensively, so it
    runs beside the schema check: values of the wrong type are the schema's to report, not this function's."""
    kind = kind_of(pconf.type).effective(pconf)
    caps = kind.capabilities
    label = f"provider {pconf.name!r} ({pconf.type})" if pconf.name != pconf.type else f"provider {pconf.name!r}"
    problems: list[Problem] = []

    def add(path: list, message: str) -> None:
        problems.append(Problem(message, file=doc.file, line=doc.line_of(path), key=".".join(map(str, path))))

    raw_method: dict = data["method"] if isinstance(data.get("method"), dict) else {}
    method = raw_method.get("type", "supervised")
    if not isinstance(method, str):
        return problems
    if method not in caps.methods:
        add(["method", "type"], f"{label} does not offer the {method} method; it offers {', '.join(caps.methods)}")
        return problems
    training_type = raw_method.get("training_type")
    if isinstance(training_type, str) and training_type not in caps.training_types:
        offers = (f"it offers {', '.join(caps.training_types)}" if caps.training_types
                  else "it does not let a spec choose (remove training_type)")
        add(["method", "training_type"], f"{label} cannot train {training_type}; {offers}")
    hyper: dict = raw_method["hyperparameters"] if isinstance(raw_method.get("hyperparameters"), dict) else {}
    for name, value in hyper.items():
        if value == "auto" or not isinstance(name, str):
            continue
        path = ["method", "hyperparameters", name]
        rule = caps.accepts(method, name)
        if rule is None:
            if not _neutral(name, method):
                continue  # not ftops's vocabulary: the schema reports it as an unknown key
            accepted = ", ".join(caps.hyperparameters.get(method, {})) or "none"
            instead = INSTEAD.get(name)
            hint = f"; use {instead}" if instead and caps.accepts(method, instead.split()[0]) else ""
            add(path, f"{label} does not take {name} for {method} training{hint} (it takes: {accepted})")
            continue
        problem = rule.problem(value)
        if problem:
            add(path, f"{problem} for {label}" + (f" ({rule.wire})" if rule.wire and rule.wire != name else ""))
        if name in LORA and training_type == "full":
            add(path, f"{name} applies to LoRA training, but method.training_type is full")
    if data.get("seed") is not None and not caps.seed:
        add(["seed"], f"{label} does not take a seed")
    suffix = data.get("suffix")
    if isinstance(suffix, str) and suffix:
        suffix_rule = caps.suffix
        sent = suffix_rule.sent(suffix)
        room = suffix_rule.max_length - suffix_rule.reserved
        if len(sent) > room:
            why = (f" ({suffix_rule.max_length} minus the {suffix_rule.reserved} characters of the launch key ftops "
                   "appends)" if suffix_rule.reserved else "")
            add(["suffix"], f"is {len(sent)} characters; {label} allows at most {room}{why}")
        elif suffix_rule.charset and not re.fullmatch(f"[{suffix_rule.charset}]+", sent):
            add(["suffix"], f"{suffix!r} may only use [{suffix_rule.charset}] on {label}")
    options: dict = data["provider_options"] if isinstance(data.get("provider_options"), dict) else {}
    mine: dict = options[kind.type] if isinstance(options.get(kind.type), dict) else {}
    for key in mine:
        if key in kind.managed_fields:
            add(["provider_options", kind.type, key], f"{key} is set by ftops from the spec; use the spec's own "
                                                      "keys (method, hyperparameters, suffix, seed, ...) instead")
    if data.get("deploy") is not None and "deploy" not in caps.verbs:
        add(["deploy"], f"{label} has no deploy step: its trained models are called as they are (remove deploy)")
    elif isinstance(data.get("deploy"), dict):  # each provider type has its own deploy block
        problems += validate_part(doc, ["deploy"], kind.deploy_schema(), f" (deploy on {label})")
        for message in kind_of(pconf.type).deploy_problems(pconf):
            add(["deploy"], f"{message} ({label})")
    pin = data.get("pin")
    if pin not in (None, "final") and "checkpoint_models" not in caps.verbs:
        add(["pin"], f"{label} does not serve a job's checkpoints as models; only the final model can be pinned "
                     "(remove pin)")
    for path, message in kind.spec_problems(data):
        add(path, f"{message} on {label}")
    base = data.get("base_model")
    if isinstance(base, str):
        retired = kind.catalog().retired_model(base)
        if retired:
            note = f" ({retired.note})" if retired.note else ""
            instead = (f"use {' or '.join(retired.replacements)}" if retired.replacements
                       else "pick another base model it offers")
            add(["base_model"], f"{base} can no longer be fine-tuned on {label}{note}; {instead}")
        info = kind.lookup(base)
        if isinstance(training_type, str) and training_type in caps.training_types and info.known \
                and info.training_types and training_type not in info.training_types:
            add(["method", "training_type"], f"{label} trains {base} with {', '.join(info.training_types)} only, "
                                             f"not {training_type}")
    return problems


def _neutral(name: str, method: str) -> bool:
    """Whether ``name`` is a hyperparameter of ftops's neutral vocabulary for ``method`` (the spec schema's)."""
    from ftops.schema import load_schema

    for branch in load_schema("spec")["properties"]["method"]["allOf"]:
        if branch["if"]["properties"]["type"]["const"] == method:
            return name in branch["then"]["properties"]["hyperparameters"]["properties"]
    return False


def mapping_lines(hyperparameters: dict, method: str, pconf: ProviderConfig) -> list[str]:
    """How each declared hyperparameter reaches ``pconf``'s provider (shown when a spec moves to it)."""
    kind = kind_of(pconf.type).effective(pconf)
    lines = []
    for name, value in sorted(hyperparameters.items()):
        rule = kind.capabilities.accepts(method, name)
        wire = (rule.wire or name) if rule else None
        lines.append(f"method.hyperparameters.{name}: {value} -> {pconf.name} {wire}" if wire else
                     f"method.hyperparameters.{name}: {value} is not taken by {pconf.name}")
    return lines
