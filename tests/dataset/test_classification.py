"""Classification data (few distinct, short answers), chat or prompt/completion: the legacy guide's checks that
labels are single tokens and that every class has about 100 examples."""

from __future__ import annotations

from tests.dataset.support import check_rows, warning

SEP = "\n\n###\n\n"


def ticket(i: int, label: str, *, system: str = "Route the ticket: billing, bug or account.") -> dict:
    return {"messages": [{"role": "system", "content": system},
                         {"role": "user", "content": f"Ticket {i}: something about {label} number {i}"},
                         {"role": "assistant", "content": label}]}


def tickets(per_class: dict[str, int]) -> list[dict]:
    rows, i = [], 0
    for label, n in per_class.items():
        for _ in range(n):
            rows.append(ticket(i, label))
            i += 1
    return rows


def test_chat_classification_with_a_multi_token_label_names_that_label_and_its_token_count(tmp_path):
    report = check_rows(tmp_path, tickets({"billing": 120, "bug": 120, "password reset request": 120}),
                        model="gpt-4o-mini-2024-07-18")

    assert "3 classes" in warning(report, "classification_task").message
    multi = warning(report, "multi_token_labels")
    assert multi.message.startswith("1 of 3 class labels are more than one token")
    assert "'password reset request': 3 tokens" in multi.message
    assert "'billing'" not in multi.message and "max_tokens=1" in multi.message
    assert warning(report, "small_classes") is None
    assert report.ok


def test_a_class_with_fewer_than_100_examples_is_named_smallest_first(tmp_path):
    report = check_rows(tmp_path, tickets({"billing": 150, "bug": 40, "account": 99}))

    small = warning(report, "small_classes")
    assert small.message.startswith("2 of 3 classes have fewer than 100 examples ('bug': 40, 'account': 99)")
    assert warning(report, "multi_token_labels") is None


def test_single_token_labels_with_enough_examples_get_only_the_classification_note(tmp_path):
    report = check_rows(tmp_path, tickets({"billing": 100, "bug": 100, "account": 100}))

    assert [w.code for w in report.warnings] == ["classification_task"]


def test_prompt_completion_labels_are_counted_without_the_common_stop_and_with_their_leading_space(tmp_path):
    rows = [{"prompt": f"Ticket {i}: text{SEP}", "completion": label}
            for i, label in enumerate([" billing\n", " bug\n", " account closure\n"] * 40)]

    report = check_rows(tmp_path, rows, model="babbage-002")

    multi = warning(report, "multi_token_labels")
    assert multi.message.startswith("1 of 3 class labels")  # ' billing' and ' bug' are one token each
    assert "' account closure\\n': 2 tokens" in multi.message
    assert "fewer than 100 examples" in warning(report, "small_classes").message


def test_a_validation_file_is_not_told_its_classes_are_small(tmp_path):
    rows = tickets({"billing": 10, "bug": 10, "account": 10})

    training = check_rows(tmp_path, rows, name="train.jsonl")
    validation = check_rows(tmp_path, rows, name="valid.jsonl", role="validation")

    assert warning(training, "small_classes")
    assert warning(validation, "classification_task") and warning(validation, "small_classes") is None


def test_varied_answers_one_repeated_answer_and_tool_calls_are_not_classification(tmp_path):
    varied = [ticket(i, f"Thanks, ticket {i} goes to team {i}.") for i in range(60)]
    same = [ticket(i, "ok") for i in range(60)]
    call = {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                                                 "function": {"name": "route", "arguments": "{}"}}]}
    calls = [{"messages": ticket(i, "bug")["messages"][:2] + [call]} for i in range(60)]
    mixed = tickets({"billing": 30, "bug": 30}) + calls[:1]

    for name, rows in (("varied", varied), ("same", same), ("calls", calls), ("mixed", mixed)):
        report = check_rows(tmp_path, rows, name=f"{name}.jsonl")
        assert warning(report, "classification_task") is None, name
        assert warning(report, "small_classes") is None, name


def test_a_classification_file_checked_in_chunks_counts_every_class_once(tmp_path):
    from ftops.dataset.labels import Labels

    whole, first, second = Labels(), Labels(), Labels()
    answers = ["a", "b", "c"] * 30
    for answer in answers:
        whole.add(answer)
    for answer in answers[:40]:
        first.add(answer)
    for answer in answers[40:]:
        second.add(answer)
    first.merge(second)

    assert first.classes() == whole.classes() == {"a": 30, "b": 30, "c": 30}
