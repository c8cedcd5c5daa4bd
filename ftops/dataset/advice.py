"""Turning what a scan counted into the findings and warnings a person reads."""

from __future__ import annotations

from collections.abc import Sequence

from ftops import tokens
from ftops.dataset.index import Smallest
from ftops.dataset.prompt_completion import PromptCompletionStats
from ftops.dataset.report import Finding, Warning
from ftops.dataset.tally import CAP, Tally

MIN_EXAMPLES = 10  # the API refuses fewer
RECOMMENDED_EXAMPLES = 50  # the guide: 50-100 to see an improvement
RECOMMENDED_PER_CLASS = 100  # the legacy guide: at least ~100 examples per class
SHOWN_CLASSES = 10
TRAINING_ONLY = frozenset({"small_classes"})  # advice about a training file's size, not a validation file's

_MESSAGES = {
    "unrecognized_key": "{n:,} example(s) have top-level keys the API does not read (line {line}: {detail})",
    "nothing_to_train": "{n:,} example(s) give every assistant message weight 0: they train nothing",
    "assistant_whitespace_only": "{n:,} example(s) have an assistant message that is only whitespace: "
                                 "the model learns to answer with nothing",
    "missing_user_message": "{n:,} example(s) have no user message",
    "dpo_identical_outputs": "{n:,} example(s) have identical preferred and non-preferred outputs: they teach nothing",
    "rft_ends_with_assistant": "{n:,} example(s) end with an assistant message; in reinforcement fine-tuning the "
                               "model writes the answer, so the prompt should end with the user's turn",
    "rft_no_reference_fields": "{n:,} example(s) have no field besides the messages for the grader to compare with",
    "completion_no_leading_space": "{n:,} completion(s) do not start with a space or newline; start every "
                                   "completion with one, the way the model continues a prompt",
    "over_token_limit": "{n:,} example(s) exceed the model's {limit:,}-token training context (longest {detail} "
                        "tokens): they will be truncated, and billing counts at most {limit:,} tokens each",
}


def errors_from(tally: Tally) -> list[Finding]:
    """Per-line findings in line order; beyond CAP per code, one summary finding with the count."""
    found = [Finding(line, code, detail) for code, kept in tally.first.items() for line, detail in kept]
    found.sort(key=lambda f: f.line or 0)
    for code, n in tally.counts.items():
        if n > CAP:
            found.append(Finding(None, code, f"{n - CAP:,} more line(s) with {code} (only the first {CAP} are listed)"))
    return found


def warnings_from(tally: Tally, *, shaped: int, limit: int | None, max_tokens: int) -> list[Warning]:
    out = []
    for code, n in tally.counts.items():
        lines = tally.lines(code)
        if code == "missing_system_message":
            if n < shaped:  # some have one and some do not: probably a mistake; none at all is a choice
                out.append(Warning(code, f"{n:,} of {shaped:,} examples have no system (or developer) message while "
                                         "the others have one; give every example the prompt you use in production",
                                   lines))
            continue
        line, detail = tally.first[code][0]
        if code == "over_token_limit":
            detail = f"{max_tokens:,}"
        out.append(Warning(code, _MESSAGES[code].format(n=n, line=line, detail=detail, limit=limit or 0), lines))
    return out


def duplicate_warnings(duplicates: Smallest) -> list[Warning]:
    if not duplicates.count:
        return []
    pairs = duplicates.items()
    line, first = pairs[0]
    return [Warning("duplicate_examples", f"{duplicates.count:,} example(s) repeat an earlier line exactly "
                                          f"(e.g. line {line} = line {first})", tuple(p[0] for p in pairs))]


def size_problems(examples: int, role: str, minimum: int = MIN_EXAMPLES) -> tuple[list[Finding], list[Warning]]:
    """``minimum`` is the provider's hard minimum of training examples."""
    if role != "training":
        return [], []
    if examples < minimum:
        return [Finding(None, "too_few_examples",
                        f"{examples:,} example(s); the API needs at least {minimum}")], []
    if examples < RECOMMENDED_EXAMPLES:
        return [], [Warning("few_examples", f"only {examples} examples; 50-100 well-chosen examples are usually "
                                            "needed to see an improvement")]
    return [], []


def stop_sequence(common_ending: str | None) -> str:
    """The common ending of completions, from a word boundary on (' positive'/' negative' share no stop)."""
    ending = common_ending or ""
    i = 0
    while i < len(ending) and ending[i].isalnum():
        i += 1
    return ending[i:]


def _shown(items: Sequence[tuple[str, object]], unit: str = "") -> str:
    text = ", ".join(f"{label!r}: {n}{unit}" for label, n in items[:SHOWN_CLASSES])
    return text + (", ..." if len(items) > SHOWN_CLASSES else "")


def label_text(label: str, stop: str, *, chat: bool) -> str:
    """What the model must write for a class: the label without the common stop sequence. A completion keeps
    its leading space (it is part of the token the model writes after the prompt); a chat answer does not."""
    if stop and label.endswith(stop) and label != stop:
        label = label[:-len(stop)]
    return label.strip() if chat else label.rstrip() or label


def classification_advice(classes: dict[str, int], encoding: str, *, stop: str = "",
                          chat: bool = False) -> list[Warning]:
    """The legacy guide's advice for classification: hold out every class, single-token labels (answer with
    max_tokens=1, read class probabilities from logprobs), about 100 examples per class."""
    top = sorted(classes.items(), key=lambda kv: (-kv[1], kv[0]))
    out = [Warning("classification_task", f"this looks like classification with {len(top)} classes "
                                          f"({_shown(top)}); hold out a validation file with every class and "
                                          "judge the model by per-class accuracy/F1, not by loss")]
    enc = tokens.get_encoding(encoding)
    lengths = {label: len(enc.encode_ordinary(label_text(label, stop, chat=chat))) for label in classes}
    multi = sorted(((label, n) for label, n in lengths.items() if n > 1), key=lambda kv: (-kv[1], kv[0]))
    if multi:
        out.append(Warning("multi_token_labels", f"{len(multi)} of {len(top)} class labels are more than one token "
                                                 f"({_shown(multi, ' tokens')}); with single-token labels the model "
                                                 "answers with max_tokens=1 and logprobs give each class's "
                                                 "probability"))
    small = [(label, n) for label, n in top if n < RECOMMENDED_PER_CLASS]
    if small:
        small.sort(key=lambda kv: (kv[1], kv[0]))
        out.append(Warning("small_classes", f"{len(small)} of {len(top)} classes have fewer than "
                                            f"{RECOMMENDED_PER_CLASS} examples ({_shown(small)}); about "
                                            f"{RECOMMENDED_PER_CLASS} examples per class are recommended"))
    return out


def prompt_completion_advice(pc: PromptCompletionStats, classes: dict[str, int] | None,
                             encoding: str) -> list[Warning]:
    if pc.examples < 2:
        return []
    out = []
    if not pc.prompt_suffix:
        out.append(Warning("no_prompt_separator", "prompts do not end with a common separator; end every prompt "
                                                  "with the same string that appears nowhere else (e.g. "
                                                  "'\\n\\n###\\n\\n') so the model knows where the prompt stops"))
    if classes:
        out += classification_advice(classes, encoding, stop=stop_sequence(pc.completion_suffix))
    elif not stop_sequence(pc.completion_suffix):
        out.append(Warning("no_stop_sequence", "completions do not end with a common stop sequence; end every "
                                               "completion with the same marker (e.g. '\\n' or ' END') and pass "
                                               "it as stop= when you call the model"))
    return out
