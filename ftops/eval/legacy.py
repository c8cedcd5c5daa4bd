"""Keys of OpenAI's legacy fine-tuning API (``/v1/fine-tunes``, retired 2024-01-04) in a spec: a clear error that
says what to write instead, not a bare "unknown key".

- ``compute_classification_metrics``, ``classification_n_classes``, ``classification_positive_class``,
  ``classification_betas``: the classification metrics are an ``eval:`` block now (``ftops eval``, and a gate in
  ``apply``); the error shows the equivalent block, filled in from the values the spec gave.
- ``prompt_loss_weight``: no current fine-tuning API takes it; the error names the nearest equivalents.
"""

from __future__ import annotations

from typing import Any

import yaml

CLASSIFICATION = ("compute_classification_metrics", "classification_n_classes", "classification_positive_class",
                  "classification_betas")
PROMPT_LOSS_WEIGHT = "prompt_loss_weight"
LEGACY = CLASSIFICATION + (PROMPT_LOSS_WEIGHT,)

PROMPT_LOSS_MESSAGE = (
    "prompt_loss_weight belonged to OpenAI's legacy fine-tunes API and is not supported by current fine-tuning "
    "APIs: remove it. Nearest equivalents: OpenAI and Azure OpenAI train only on assistant messages (mark one "
    "with \"weight\": 0 in the chat data to leave it out); Together has training_method.train_on_inputs (false: "
    "the prompt is not trained on, like prompt_loss_weight 0; ftops sends \"auto\"); a ray trainer of your own "
    "decides (TRL: completion_only_loss). Fireworks has none.")


def _found(data: dict[str, Any]) -> dict[str, Any]:
    """Legacy keys and their values, at the top level or under method.hyperparameters."""
    method: dict[str, Any] = data["method"] if isinstance(data.get("method"), dict) else {}
    hyper: dict[str, Any] = method["hyperparameters"] if isinstance(method.get("hyperparameters"), dict) else {}
    return {k: v for source in (hyper, data) for k, v in source.items() if k in LEGACY}


def equivalent_eval(values: dict[str, Any]) -> dict[str, Any]:
    """The eval block that computes what the legacy classification keys asked for."""
    positive = values.get("classification_positive_class")
    binary = values.get("classification_n_classes") == 2 or positive is not None
    block: dict[str, Any] = {"metrics": ["accuracy", "per_class", "macro_f1"]}
    if binary:
        block["metrics"] += ["fbeta", "auroc", "auprc"]
        block["positive_class"] = str(positive).strip() if positive is not None else "YOUR_POSITIVE_LABEL"
        betas = values.get("classification_betas")
        if isinstance(betas, list) and betas:
            block["betas"] = betas
    block["compare_to"] = ["base", "pinned"]
    block["gate"] = ["accuracy >= pinned - 0.01"]
    return block


def classification_message(values: dict[str, Any]) -> str:
    shown = yaml.safe_dump({"eval": equivalent_eval(values)}, sort_keys=False, default_flow_style=None,
                           width=100).rstrip()
    keys = [k for k in CLASSIFICATION if k in values]
    return (f"the legacy classification metrics are an eval: block now (evaluated on validation_file, or "
            f"eval.data; see `ftops eval`, and the gate `ftops apply` checks before the pin moves). Remove "
            f"{', '.join(keys)} and write instead:\n" + "\n".join("    " + line for line in shown.splitlines()))


def legacy_keys(data: Any) -> dict[str, Any]:
    return _found(data) if isinstance(data, dict) else {}
