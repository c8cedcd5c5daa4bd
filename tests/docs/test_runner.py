"""The doc runner itself: what counts as runnable, how shown output is compared, and what a failure says. A runner
that passed everything would make every doc example "pass"; these tests make it fail where a doc lies."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.docs.runner import DocExampleFailed, DocSession, extract, unmatched

DOC = """\
# A doc

```sh
pip install something-not-run
```

```console
$ echo one; echo two
one
two
$ printf 'id: %s\\n' abc123 && \\
  echo done
id: ...
done
```

```yaml
key: value
```
"""


def session(tmp_path, text: str) -> DocSession:
    return DocSession("guide.md", extract(text, "guide.md"), tmp_path)


def test_only_console_fences_are_runnable_and_their_commands_and_output_are_split():
    blocks = extract(DOC, "guide.md")
    assert [b.id for b in blocks] == ["guide.md:7"]
    first, second = blocks[0].commands
    assert (first.line, first.text, [t for _, t in first.shown]) == (8, "echo one; echo two", ["one", "two"])
    assert second.text == "printf 'id: %s\\n' abc123 && \\\n  echo done"
    assert [n for n, _ in second.shown] == [13, 14]


def test_a_here_document_belongs_to_its_command_even_where_its_lines_look_like_commands():
    blocks = extract("```console\n$ cat > f <<'EOF'\n$ inside\nEOF\n$ cat f\n```\n", "d.md")
    write, show = blocks[0].commands
    assert write.text == "cat > f <<'EOF'\n$ inside\nEOF" and write.shown == ()
    assert show.text == "cat f" and show.line == 5


@pytest.mark.parametrize("shown, output, missing", [
    (["a", "c"], "a\nb\nc\n", None),  # lines not shown may be left out
    (["c", "a"], "a\nb\nc\n", "a"),  # but the order is the order printed
    (["Plan: ... to create."], "Plan: 4 to create.\n", None),  # ... matches any text
    (["Plan: 4"], "Plan: 4 to create.\n", "Plan: 4"),  # a shown line is a whole line
    (["  indented"], "indented\n", "  indented"),  # indentation is part of the line
    (["a", "...", "", "c"], "a\nb\nc\n", None),  # a visible ellipsis and blank lines match anything
    (["a", "a"], "a\n", "a"),  # each shown line needs its own real line
])
def test_shown_output_is_compared_loosely_but_every_shown_line_must_be_true(shown, output, missing):
    found = unmatched(tuple(enumerate(shown, 1)), output)
    assert (found[1] if found else None) == missing


def test_a_doc_that_shows_output_the_command_does_not_print_fails_naming_the_line_and_the_diff(tmp_path):
    doc = session(tmp_path, "text\n\n```console\n$ echo 'Plan: 3 to create.'\nPlan: 4 to create.\n```\n")
    with pytest.raises(DocExampleFailed) as failed:
        doc.run_through(doc.blocks[0])
    message = str(failed.value)
    assert message.startswith("guide.md:4: `echo 'Plan: 3 to create.'` (block guide.md:3) did not print the line "
                              "shown at guide.md:5:\n    'Plan: 4 to create.'")
    assert "-Plan: 4 to create.\n+Plan: 3 to create." in message


def test_a_command_that_fails_fails_the_block_unless_the_doc_shows_its_exit_code(tmp_path):
    doc = session(tmp_path, "```console\n$ false\n```\n\n```console\n$ false; echo \"exit $?\"\nexit 1\n```\n")
    with pytest.raises(DocExampleFailed, match=r"guide.md:2: `false` \(block guide.md:1\) exited 1"):
        doc.run_through(doc.blocks[0])
    with pytest.raises(DocExampleFailed, match="was not run: the block at guide.md:1 before it failed"):
        doc.run_through(doc.blocks[1])
    alone = session(tmp_path / "again", "```console\n$ false; echo \"exit $?\"\nexit 1\n```\n")
    alone.run_through(alone.blocks[0])


def test_blocks_of_a_document_share_files_and_start_in_the_example_project(tmp_path):
    doc = session(tmp_path, "```console\n$ mkdir sub && cd sub && echo kept > note && export SHOWN=yes\n"
                            "$ pwd; echo \"$SHOWN\"\n.../ftops/sub\nyes\n```\n\n"
                            "```console\n$ pwd; cat sub/note; ls ftops.yaml specs/support-bot.yaml\n.../ftops\nkept\n"
                            "ftops.yaml\nspecs/support-bot.yaml\n```\n")
    doc.run_through(doc.blocks[1])
    assert doc.results == {"guide.md:1": None, "guide.md:8": None}


def test_the_environment_has_no_keys_and_no_ftops_settings_of_the_machine(tmp_path, monkeypatch):
    """The machine's keys and FTOPS_* settings are gone; the runner's own day and poll interval are set."""
    monkeypatch.setenv("OPENAI_API_KEY", "fake-key-from-the-machine")
    monkeypatch.setenv("FTOPS_TODAY", "2030-01-01")
    doc = session(tmp_path, "```console\n$ env | grep -c -e API_KEY; echo \"exit $?\"\n0\nexit 1\n"
                            "$ echo \"$FTOPS_TODAY $FTOPS_POLL_INTERVAL $HOME\"; command -v ftops\n"
                            "2026-12-01 0.05 .../home\n"
                            ".../bin/ftops\n```\n")
    doc.run_through(doc.blocks[0])


def test_what_a_command_leaves_running_in_the_background_is_stopped(tmp_path):
    doc = session(tmp_path, "```console\n$ sleep 300 & echo $! > sleeper.pid\n```\n")
    doc.run_through(doc.blocks[0])
    pid = int((doc.project / "sleeper.pid").read_text())
    deadline = time.monotonic() + 10  # SIGKILL lands within moments
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(pid)


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie nobody reaped yet is not)."""
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
