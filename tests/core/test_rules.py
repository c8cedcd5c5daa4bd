"""A provider's Rule for one neutral hyperparameter: bounds (inclusive or not) and an explicit set of values."""

from __future__ import annotations

from ftops.providers.base import Rule


def test_a_rule_with_choices_accepts_only_those_numbers_and_says_which():
    rank = Rule("int", choices=(1, 2, 4, 8, 16, 32), wire="loraRank")
    assert rank.problem(8) is None and rank.problem(8.0) is None
    assert rank.problem(12) == "12 is not allowed; expected an integer, one of 1, 2, 4, 8, 16, 32"
    assert rank.problem(64) is not None and rank.problem("8") is not None and rank.problem(True) is not None


def test_both_bounds_can_be_exclusive():
    beta = Rule("number", 0, 0.5, low_open=True, high_open=True)
    assert beta.describe() == "a number > 0 and < 0.5"
    assert beta.problem(0.1) is None
    assert beta.problem(0.5) == "0.5 is out of range; expected a number > 0 and < 0.5"
    assert beta.problem(0) is not None


def test_an_enum_rule_is_unchanged():
    effort = Rule("enum", choices=("low", "high"))
    assert effort.problem("low") is None and effort.problem("mid") == "expected one of low, high"
