"""``ftops eval``'s numbers equal scikit-learn's computed independently on the same predictions (asked of the
emulator with the official openai SDK); custom command metrics run without a shell, in the project, without keys,
with a timeout."""

from __future__ import annotations

import json
import math
import sys

import openai
from sklearn import metrics as sk

from tests.eval import data

POSITIVE = "billing"


def _spec(project, **eval_block) -> None:
    data.write(project.root / "data" / "tickets.jsonl", data.rows(data.train_pairs()))
    data.write(project.root / "data" / "held.jsonl", data.rows(data.held_out_pairs()))
    project.spec("tickets", training_file="../data/tickets.jsonl", validation_file="../data/held.jsonl",
                 eval={"metrics": ["exact_match", "accuracy", "per_class", "macro_f1", "fbeta", "auroc", "auprc"],
                       "positive_class": POSITIVE, "betas": [0.5, 1, 2], **eval_block})


def test_the_metrics_match_scikit_learn_on_the_same_predictions(project):
    _spec(project)
    assert project.run("apply", "--auto-approve").rc == 0
    job = project.lock()["models"]["tickets"]["pending"]["job_id"]
    project.admin("POST", f"jobs/{job}/degrade", {"strength": 0.35})  # imperfect, so the numbers say something
    assert project.run("apply", "--auto-approve", "--wait").rc == 0
    model = project.model("tickets")
    result = project.run("eval", "tickets", "--json")
    assert result.rc == 0, result.all
    shown = json.loads(result.out)
    assert shown["models"] == {"pinned": model, "base": "gpt-4o-mini-2024-07-18"}
    assert shown["results"]["pinned"]["cached"]  # apply evaluated it: the same numbers, not asked again
    found = {m["metric"]: m["pinned"] for m in shown["metrics"]}

    client = openai.OpenAI(base_url=project.emu.url, api_key="k", max_retries=0)
    truth, predicted, scores = [], [], []
    for text, label in data.held_out_pairs():
        answer = client.chat.completions.create(
            model=model, temperature=0, max_tokens=64, logprobs=True, top_logprobs=5, messages=[
                {"role": "system", "content": data.SYSTEM}, {"role": "user", "content": text}])
        choice = answer.choices[0]
        truth.append(label)
        predicted.append(choice.message.content.strip().lower())
        scores.append(sum(math.exp(t.logprob) for t in choice.logprobs.content[0].top_logprobs
                          if t.token.strip().lower() and POSITIVE.startswith(t.token.strip().lower())))
    labels = sorted(set(truth))
    positives = [t == POSITIVE for t in truth]
    reference = {
        "exact_match": sk.accuracy_score(truth, predicted), "accuracy": sk.accuracy_score(truth, predicted),
        "macro_f1": sk.f1_score(truth, predicted, labels=labels, average="macro", zero_division=0),
        "precision": sk.precision_score(truth, predicted, labels=[POSITIVE], average="macro", zero_division=0),
        "recall": sk.recall_score(truth, predicted, labels=[POSITIVE], average="macro", zero_division=0),
        "auroc": sk.roc_auc_score(positives, scores), "auprc": sk.average_precision_score(positives, scores)}
    for beta in (0.5, 1, 2):
        reference[f"f{beta:g}"] = sk.fbeta_score(truth, predicted, beta=beta, labels=[POSITIVE], average="macro",
                                                  zero_division=0)
    for label in labels:
        reference[f"precision[{label}]"] = sk.precision_score(truth, predicted, labels=[label], average="macro",
                                                              zero_division=0)
        reference[f"recall[{label}]"] = sk.recall_score(truth, predicted, labels=[label], average="macro",
                                                        zero_division=0)
        reference[f"f1[{label}]"] = sk.f1_score(truth, predicted, labels=[label], average="macro", zero_division=0)
    assert set(found) == set(reference)
    for name, value in reference.items():
        assert math.isclose(found[name], value, abs_tol=1e-6), (name, found[name], value)
    assert 0.3 < found["accuracy"] < 1 and 0.5 < found["auroc"] < 1  # the degraded model is imperfect


SCORER = """
import json, os, sys
rows = [json.loads(line) for line in sys.stdin]
print(json.dumps({"answered": sum(1 for r in rows if r["output"]) / len(rows),
                  "saw_key": float(bool(os.environ.get("FTOPS_TEST_KEY"))),
                  "cwd_is_root": float(os.path.exists("ftops.yaml"))}))
"""


def test_a_custom_command_metric_runs_in_the_project_without_keys_and_can_gate(project):
    project.write("evals/score.py", SCORER)
    _spec(project, metrics=["accuracy"], custom=[{"name": "mine", "command": [sys.executable, "evals/score.py"]}],
          gate=["mine.answered >= 1", "mine.saw_key == 0"])
    applied = project.run("apply", "--auto-approve", "--wait")
    assert applied.rc == 0, applied.all
    metrics = project.lock()["models"]["tickets"]["eval"]["metrics"]
    assert metrics["mine.answered"]["candidate"] == 1.0 and metrics["mine.saw_key"]["candidate"] == 0.0
    assert metrics["mine.cwd_is_root"]["candidate"] == 1.0


def test_a_failing_or_slow_custom_command_fails_the_eval_and_the_pin_does_not_move(project):
    project.write("evals/slow.py", "import time; time.sleep(30)")
    _spec(project, metrics=["accuracy"], custom=[{"name": "slow", "command": f"{sys.executable} evals/slow.py",
                                                  "timeout": 0.5}])
    applied = project.run("apply", "--auto-approve", "--wait")
    assert applied.rc == 1 and "did not finish within 0.5 seconds" in applied.out
    assert project.model("tickets") is None and project.lock()["models"]["tickets"]["pending"]["state"] == "succeeded"
    project.write("evals/slow.py", "print('not json')")
    again = project.run("apply", "--auto-approve", "--wait")  # the plan records the finished job: evaluated again
    assert again.rc == 1 and "printed no JSON" in again.out
    project.write("evals/slow.py", "import json; print(json.dumps(1.5))")
    fixed = project.run("apply", "--auto-approve", "--wait")
    assert fixed.rc == 0, fixed.all
    assert project.lock()["models"]["tickets"]["eval"]["metrics"]["slow"]["candidate"] == 1.5
