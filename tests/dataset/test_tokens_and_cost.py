"""Token counts (the documented estimate, offline), the model -> encoding mapping, billing caps, epochs, cost."""

from __future__ import annotations

import pytest

from ftops import cost, tokens
from ftops.providers.registry import model_facts
from tests.dataset.support import chat, check_rows, warning

TINY = {"messages": [{"role": "user", "content": "hello"},
                     {"role": "assistant", "content": "hi", "name": "bot"}]}
# 3 per example + (3 + "user" 1 + "hello" 1) + (3 + "assistant" 1 + "hi" 1 + "bot" 1 + 1 for the name) = 15
TINY_TOKENS = 15


@pytest.mark.parametrize("encoding", ["o200k_base", "cl100k_base"])
def test_a_tiny_example_counts_as_computed_by_hand(encoding):
    assert tokens.count_example(TINY, tokens.get_encoding(encoding)) == TINY_TOKENS


def test_the_file_total_is_the_sum_of_its_examples(tmp_path):
    report = check_rows(tmp_path, [TINY] * 10, model="gpt-4o-mini")
    assert report.tokens.total == 10 * TINY_TOKENS
    assert report.tokens.max_per_example == TINY_TOKENS


def test_weight_is_not_counted_and_text_parts_count_as_their_text():
    enc = tokens.get_encoding("o200k_base")
    weighted = {"messages": [{"role": "user", "content": "hello"}, {"role": "assistant", "content": "hi", "weight": 0}]}
    parts = {"messages": [{"role": "user", "content": [{"type": "text", "text": "hello"}]},
                          {"role": "assistant", "content": "hi"}]}
    assert tokens.count_example(weighted, enc) == 3 + 5 + 5
    assert tokens.count_example(parts, enc) == 3 + 5 + 5


@pytest.mark.parametrize("part", [
    {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "iVBORw0KGgo" * 30000}},
    {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}},
    {"type": "input_image", "image_url": "data:image/jpeg;base64," + "/9j/4AAQ" * 10000},
    {"type": "input_audio", "input_audio": {"data": "UklGR" * 20000, "format": "wav"}},
])
def test_an_image_or_audio_part_counts_a_fixed_estimate_whatever_its_data(part):
    enc = tokens.get_encoding("o200k_base")
    example = {"messages": [{"role": "user", "content": [{"type": "text", "text": "hello"}, part]},
                            {"role": "assistant", "content": "hi"}]}
    assert tokens.count_example(example, enc) == 3 + 5 + tokens.MEDIA_PART_TOKENS + 5


@pytest.mark.parametrize("model, encoding", [("gpt-4o-mini", "o200k_base"), ("gpt-4.1-2025-04-14", "o200k_base"),
                                             ("ft:gpt-4o-mini-2024-07-18:org:x:abc", "o200k_base"),
                                             ("gpt-3.5-turbo", "cl100k_base"), ("davinci-002", "cl100k_base"),
                                             ("some-unknown-model", "o200k_base")])
def test_the_model_decides_the_encoding(model, encoding):
    assert tokens.get_encoding(model_facts(model)[1].encoding).name == encoding


def test_o200k_and_cl100k_count_the_same_file_differently(tmp_path):
    row = {"messages": [{"role": "user", "content": "感谢您的耐心等待。"}, {"role": "assistant", "content": "好"}]}
    new = check_rows(tmp_path, [row] * 10, model="gpt-4o-mini")
    old = check_rows(tmp_path, [row] * 10, model="gpt-3.5-turbo")
    assert (new.tokens.encoding, old.tokens.encoding) == ("o200k_base", "cl100k_base")
    assert new.tokens.total < old.tokens.total


def test_long_texts_are_counted_in_pieces_with_the_same_result():
    enc = tokens.get_encoding("o200k_base")
    text = " ".join(f"word{i % 97} and, more: {i}" for i in range(200_000))  # ~4.5 MB, several pieces
    assert len(text) > 3 * (1 << 20)
    assert tokens.count_text(text, enc) == len(enc.encode_ordinary(text))


def test_examples_over_the_model_limit_are_listed_and_billing_is_capped(tmp_path):
    long_row = {"messages": [{"role": "user", "content": "hello " * 5000}, {"role": "assistant", "content": "ok"}]}
    rows = [chat(i) for i in range(60)]
    rows[6] = long_row
    report = check_rows(tmp_path, rows, model="gpt-3.5-turbo-0613")  # 4,096-token training context
    enc = tokens.get_encoding("cl100k_base")
    long_tokens = tokens.count_example(long_row, enc)
    assert long_tokens > 4096
    assert report.tokens.over_limit == 1
    assert report.tokens.max_per_example == long_tokens
    assert report.tokens.billing == report.tokens.total - long_tokens + 4096
    assert warning(report, "over_token_limit").lines == (7,)
    unlimited = check_rows(tmp_path, rows, name="same.jsonl", model="gpt-4o-mini")
    assert unlimited.tokens.over_limit == 0 and warning(unlimited, "over_token_limit") is None


@pytest.mark.parametrize("n, epochs", [(10, 10), (20, 5), (33, 3), (34, 3), (100, 3), (8333, 3), (8334, 2),
                                       (30_000, 1)])
def test_auto_epochs_follow_the_documented_heuristic(n, epochs):
    assert cost.resolve_epochs(n, "auto") == epochs


def test_epochs_and_cost_in_the_report(tmp_path):
    report = check_rows(tmp_path, [TINY] * 20, model="gpt-4o-mini")  # $3 per 1M training tokens
    assert report.epochs == 5
    assert report.estimated_cost_usd == round(20 * TINY_TOKENS * 5 * 3.00 / 1e6, 4)
    fixed = check_rows(tmp_path, [TINY] * 20, model="gpt-4o-mini", n_epochs=2)
    assert fixed.epochs == 2
    assert fixed.estimated_cost_usd == round(20 * TINY_TOKENS * 2 * 3.00 / 1e6, 4)


def test_price_overrides_and_unknown_prices(tmp_path):
    overridden = check_rows(tmp_path, [TINY] * 100, model="gpt-4o-mini", price_overrides={"gpt-4o-mini": 1000.0})
    assert overridden.estimated_cost_usd == round(100 * TINY_TOKENS * 3 * 1000.0 / 1e6, 4)
    assert check_rows(tmp_path, [TINY] * 100, model="my-own-model").estimated_cost_usd is None
    assert check_rows(tmp_path, [TINY] * 100).estimated_cost_usd is None


def test_the_cookbook_worked_example_costs_about_2_40():
    # the guide: 100,000 tokens over 3 epochs of gpt-3.5-turbo is about USD 2.40
    price = cost.price_per_1m("gpt-3.5-turbo", model_facts("gpt-3.5-turbo")[1])
    assert cost.estimate_cost(100_000, 3, price) == pytest.approx(2.40)
