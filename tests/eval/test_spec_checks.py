"""The legacy API's keys give migration messages (the classification keys: the equivalent eval: block;
prompt_loss_weight: what providers have instead), and an eval block is checked where the schema cannot."""

from __future__ import annotations

import yaml


def _spec(project, **fields) -> None:
    project.dataset("data/a.jsonl", 12)
    project.dataset("data/v.jsonl", 10, start=100)
    project.spec("a", training_file="../data/a.jsonl", validation_file="../data/v.jsonl", **fields)


def test_the_legacy_classification_keys_show_the_equivalent_eval_block(project):
    _spec(project, compute_classification_metrics=True, classification_n_classes=2,
          classification_positive_class=" positive", classification_betas=[0.5, 1])
    result = project.run("validate")
    assert result.rc == 1
    assert "unknown key" not in result.err
    assert "the legacy classification metrics are an eval: block now" in result.err
    shown = result.err.split("write instead:\n", 1)[1].splitlines()
    block = yaml.safe_load("\n".join(line[4:] for line in shown if line.startswith("    ")))
    assert block["eval"]["positive_class"] == "positive" and block["eval"]["betas"] == [0.5, 1]
    assert {"fbeta", "auroc", "auprc", "accuracy"} <= set(block["eval"]["metrics"])
    assert "1 problem in specs" in result.err  # one message for the four keys


def test_a_multi_class_legacy_spec_gets_an_eval_block_without_threshold_metrics(project):
    _spec(project, compute_classification_metrics=True, classification_n_classes=4)
    result = project.run("plan")
    assert result.rc == 1 and "metrics: [accuracy, per_class, macro_f1]" in result.err


def test_prompt_loss_weight_is_not_supported_and_names_the_equivalents(project):
    _spec(project, method={"type": "supervised", "hyperparameters": {"prompt_loss_weight": 0.01}})
    result = project.run("validate")
    assert result.rc == 1 and "unknown key" not in result.err
    assert "prompt_loss_weight belonged to OpenAI's legacy fine-tunes API and is not supported" in result.err
    assert "train_on_inputs" in result.err and "weight" in result.err
    _spec(project, prompt_loss_weight=0.1)
    assert "not supported by current fine-tuning APIs" in project.run("validate").err


def test_an_eval_block_is_checked_beyond_the_schema(project):
    _spec(project, eval={"metrics": ["auroc"], "gate": ["accuracy >= lots"]})
    result = project.run("validate")
    assert result.rc == 1
    assert "auroc need eval.positive_class" in result.err and "compare with a number, base or pinned" in result.err
    project.spec("a", training_file="../data/a.jsonl", eval={"metrics": ["accuracy"]})
    assert "an eval needs held-out examples" in project.run("validate").err
    project.spec("a", training_file="../data/a.jsonl", eval={"data": "../data/a.jsonl"})
    assert "eval.data is the training file" in project.run("validate").err
    project.spec("a", training_file="../data/a.jsonl", eval={"data": "../data/missing.jsonl"})
    assert "eval.data" in project.run("validate").err


def test_an_eval_on_a_provider_that_cannot_call_its_models_is_refused(project):
    config = yaml.safe_load((project.root / "ftops.yaml").read_text())
    config["providers"]["gpu"] = {"type": "ray", "address": "http://127.0.0.1:9", "artifacts": "file:///tmp/art"}
    (project.root / "ftops.yaml").write_text(yaml.safe_dump(config))
    _spec(project, provider="gpu", base_model="Qwen/Qwen2.5-0.5B-Instruct", eval={"metrics": ["accuracy"]})
    result = project.run("validate")
    assert result.rc == 1 and "cannot call its models" in result.err and "serve: {url" in result.err
