"""Every metric equals scikit-learn's on the same predictions (scikit-learn is the independent reference; ftops
never imports it)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as sk

from ftops.eval import metrics

LABELS = ["billing", "bug", "account"]


def close(a, b) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(LABELS), st.sampled_from(LABELS + ["I'm not sure"])), min_size=1,
                max_size=40))
def test_label_metrics_match_scikit_learn(pairs):
    expected, predicted = [e for e, _ in pairs], [p for _, p in pairs]
    assert close(metrics.accuracy(expected, predicted), sk.accuracy_score(expected, predicted))
    classes = sorted(set(expected))
    assert close(metrics.macro_f1(expected, predicted),
                 sk.f1_score(expected, predicted, labels=classes, average="macro", zero_division=0))
    for positive in LABELS:
        args = dict(labels=[positive], average="macro", zero_division=0)
        assert close(metrics.precision(expected, predicted, positive), sk.precision_score(expected, predicted, **args))
        assert close(metrics.recall(expected, predicted, positive), sk.recall_score(expected, predicted, **args))
        for beta in (0.5, 1, 2):
            assert close(metrics.fbeta(expected, predicted, positive, beta),
                         sk.fbeta_score(expected, predicted, beta=beta, **args))


@settings(max_examples=120, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.9, 1.0]) | st.floats(0, 1)),
                min_size=1, max_size=40))
def test_threshold_metrics_match_scikit_learn_ties_included(pairs):
    positives, scores = [p for p, _ in pairs], [s for _, s in pairs]
    if len(set(positives)) < 2:
        assert metrics.auroc(positives, scores) is None and metrics.auprc(positives, scores) is None
        return
    assert close(metrics.auroc(positives, scores), sk.roc_auc_score(positives, scores))
    assert close(metrics.auprc(positives, scores), sk.average_precision_score(positives, scores))


def test_exact_match_strips_only_surrounding_whitespace_and_accuracy_ignores_case():
    assert metrics.exact_match([" billing\n", "Bug"], ["billing", "bug"]) == 0.5
    assert metrics.accuracy([" billing\n", "Bug"], ["billing", "bug"]) == 1.0
    with pytest.raises(ValueError):
        metrics.accuracy(["a"], [])
