"""The metrics, as pure functions of expected and predicted labels (and scores). No third-party code: the tests
compare every one with scikit-learn's on the same predictions.

Conventions (those of the legacy ``compute_classification_metrics`` and of scikit-learn's defaults):
- a label is an answer with surrounding whitespace removed (``normalise``); ``exact_match`` compares the answers
  with surrounding whitespace removed and nothing else, ``accuracy`` compares labels case-insensitively;
- precision, recall and F-beta of one class divide by zero as 0.0 (scikit-learn's ``zero_division=0``);
- macro-F1 averages over the classes the expected labels have (an answer outside them is simply wrong for every
  class; it does not add a class of its own);
- AUROC and AUPRC rank the examples by a score of the positive class (its probability from log probabilities):
  AUROC as the area under the ROC curve with tied scores counted as half (``roc_auc_score``), AUPRC as average
  precision over distinct thresholds (``average_precision_score``). Both are None when the expected labels hold
  only one of the two sides (they are undefined there).
"""

from __future__ import annotations

from collections.abc import Sequence


def normalise(answer: str) -> str:
    return answer.strip()


def label(answer: str) -> str:
    return " ".join(answer.split()).casefold()


def exact_match(expected: Sequence[str], predicted: Sequence[str]) -> float:
    _same_length(expected, predicted)
    return _mean([normalise(e) == normalise(p) for e, p in zip(expected, predicted)])


def accuracy(expected: Sequence[str], predicted: Sequence[str]) -> float:
    _same_length(expected, predicted)
    return _mean([label(e) == label(p) for e, p in zip(expected, predicted)])


def confusion(expected: Sequence[str], predicted: Sequence[str], positive: str) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives) of one class."""
    _same_length(expected, predicted)
    tp = fp = fn = 0
    for e, p in zip(expected, predicted):
        if p == positive and e == positive:
            tp += 1
        elif p == positive:
            fp += 1
        elif e == positive:
            fn += 1
    return tp, fp, fn


def precision(expected: Sequence[str], predicted: Sequence[str], positive: str) -> float:
    tp, fp, _ = confusion(expected, predicted, positive)
    return tp / (tp + fp) if tp + fp else 0.0


def recall(expected: Sequence[str], predicted: Sequence[str], positive: str) -> float:
    tp, _, fn = confusion(expected, predicted, positive)
    return tp / (tp + fn) if tp + fn else 0.0


def fbeta(expected: Sequence[str], predicted: Sequence[str], positive: str, beta: float = 1.0) -> float:
    tp, fp, fn = confusion(expected, predicted, positive)
    b2 = beta * beta
    denominator = (1 + b2) * tp + b2 * fn + fp
    return (1 + b2) * tp / denominator if denominator else 0.0


def macro_f1(expected: Sequence[str], predicted: Sequence[str]) -> float:
    classes = sorted(set(expected))
    return _mean([fbeta(expected, predicted, c) for c in classes]) if classes else 0.0


def auroc(positives: Sequence[bool], scores: Sequence[float]) -> float | None:
    """Mann-Whitney U over average ranks: the chance a positive example scores above a negative one."""
    _same_length(positives, scores)
    n_pos = sum(1 for p in positives if p)
    n_neg = len(positives) - n_pos
    if not n_pos or not n_neg:
        return None
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    rank_sum = sum(r for r, p in zip(ranks, positives) if p)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def auprc(positives: Sequence[bool], scores: Sequence[float]) -> float | None:
    """Average precision: sum over distinct score thresholds (highest first) of the recall gained there times the
    precision at that threshold."""
    _same_length(positives, scores)
    n_pos = sum(1 for p in positives if p)
    if not n_pos or n_pos == len(positives):
        return None
    pairs = sorted(zip(scores, positives), key=lambda sp: -sp[0])
    tp = seen = i = 0
    previous_recall = area = 0.0
    while i < len(pairs):
        threshold = pairs[i][0]
        while i < len(pairs) and pairs[i][0] == threshold:
            seen += 1
            tp += 1 if pairs[i][1] else 0
            i += 1
        area += (tp / n_pos - previous_recall) * (tp / seen)
        previous_recall = tp / n_pos
    return area


def _mean(values: list[bool] | list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _same_length(a: Sequence, b: Sequence) -> None:
    if len(a) != len(b):
        raise ValueError(f"{len(a)} expected values but {len(b)} predictions")
