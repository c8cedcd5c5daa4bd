"""Runnable examples in the docs: extract them from Markdown, run them as a reader would, compare what they print.

A fenced block whose info string is ``console`` is runnable. In it, a line starting with ``$ `` is a command (a
line ending with a backslash continues on the next one, and a here-document runs to its terminator); the lines
after it, up to the next command, are its output as shown. Every other fence (``sh``, ``bash``, ``yaml``, ...) is
only text: install commands, CI snippets, illustrations.

Each document's blocks run in order, in one scratch copy of the example project (the repository's ``ftops.yaml``
and ``specs/``, the built-in ``local`` provider), as a reader following it from the top would: files a block
writes are there for the next. Every block starts in the project's root; within a block, commands share the
shell's directory and exported variables. Commands run with bash, the test environment's ``ftops`` first on PATH,
a temporary HOME, no provider key and no ``FTOPS_*`` variable except a short ``FTOPS_POLL_INTERVAL`` and
``FTOPS_TODAY`` (the day the docs' lifecycle warnings are written for, so they still run after it); stdin is not
a terminal (as in CI); what a command leaves running in the background is stopped when it returns. A command must
exit 0: to show a failure, show its exit code (``ftops plan --detailed-exitcode; echo "exit $?"``).

Shown output is compared loosely: every shown line must appear in the real output (stdout and stderr as a terminal
interleaves them), in the shown order, as a whole line; ``...`` inside a line matches any text, a line that is only
``...`` is a visible ellipsis, and blank lines are ignored. So ids, timestamps and durations can be elided, and a
doc need not show every line, but every line it shows is true.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).parents[2]
RUNNABLE = "console"
PROMPT = "$ "
ELLIPSIS = "..."
COMMAND_TIMEOUT = 180.0  # seconds; the README's demo trains four models in about ten
POLL_INTERVAL = "0.05"  # FTOPS_POLL_INTERVAL: `apply --wait` follows the local emulator's jobs closely
TODAY = "2026-12-01"  # FTOPS_TODAY: the docs show OpenAI's training cut-off (2027-01-06) and shutdowns ahead

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)(?P<word>[A-Za-z_][A-Za-z0-9_]*)\1")


@dataclass(frozen=True)
class Command:
    line: int  # of the "$ " line, 1-based
    text: str  # the shell command, continuation lines included
    shown: tuple[tuple[int, str], ...]  # the output as the doc shows it: (line number, text)


@dataclass(frozen=True)
class Block:
    doc: str  # the document's path, relative to the repository
    line: int  # of the opening fence
    commands: tuple[Command, ...]

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


def extract(text: str, doc: str) -> list[Block]:
    """The runnable blocks of a Markdown document (``doc`` names it in ids and messages)."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence, indent = opening["fence"], len(opening["indent"])
        body: list[tuple[int, str]] = []
        j = i + 1
        while j < len(lines):
            closing = _FENCE.match(lines[j])
            if closing and closing["fence"][0] == fence[0] and len(closing["fence"]) >= len(fence) \
                    and not closing["info"].strip():
                break
            body.append((j + 1, _dedent(lines[j], indent)))
            j += 1
        info = opening["info"].strip().split()
        if info and info[0] == RUNNABLE:
            blocks.append(Block(doc, i + 1, _commands(body)))
        i = j + 1
    return blocks


def _dedent(line: str, indent: int) -> str:
    spaces = len(line) - len(line.lstrip(" "))
    return line[min(spaces, indent):]


def _commands(body: list[tuple[int, str]]) -> tuple[Command, ...]:
    commands: list[Command] = []
    k = 0
    while k < len(body):
        number, line = body[k]
        if not line.startswith(PROMPT):
            if line.strip() and not commands:
                raise ValueError(f"line {number}: a console block starts with a command ('$ ...'), not {line!r}")
            k += 1
            continue
        parts = [line[len(PROMPT):]]
        k += 1
        while parts[-1].endswith("\\") and k < len(body):  # continued on the next line
            parts.append(body[k][1])
            k += 1
        heredoc = _HEREDOC.search("\n".join(parts))
        if heredoc:
            while k < len(body):
                parts.append(body[k][1])
                k += 1
                if parts[-1].strip() == heredoc["word"]:
                    break
            else:
                raise ValueError(f"line {number}: the here-document {heredoc['word']} is not terminated")
        shown = []
        while k < len(body) and not body[k][1].startswith(PROMPT):
            shown.append(body[k])
            k += 1
        commands.append(Command(number, "\n".join(parts), tuple(shown)))
    return tuple(commands)


def _pattern(shown: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in shown.rstrip().split(ELLIPSIS)), re.DOTALL)


def unmatched(shown: tuple[tuple[int, str], ...], output: str) -> tuple[int, str] | None:
    """The first shown line that does not appear in ``output`` after the ones matched before it, or None.

    Greedy earliest matching finds an in-order match whenever one exists."""
    real = [line.rstrip() for line in output.splitlines()]
    at = 0
    for number, text in shown:
        if not text.strip() or text.strip() == ELLIPSIS:
            continue
        pattern = _pattern(text)
        while at < len(real) and not pattern.fullmatch(real[at]):
            at += 1
        if at == len(real):
            return number, text
        at += 1
    return None


class DocExampleFailed(AssertionError):
    pass


@dataclass
class Ran:
    command: Command
    rc: int
    output: str


def explain(doc: str, block: Block, ran: Ran, missing: tuple[int, str] | None) -> str:
    """What a reader needs to fix the doc or the code: where, what ran, what was shown and what was printed."""
    command = ran.command
    head = f"{doc}:{command.line}: `{command.text.splitlines()[0]}` (block {block.id})"
    if missing is None:
        head += f" exited {ran.rc}; a command in a console block must exit 0 (to show a failure, show its " \
                "exit code: `...; echo \"exit $?\"`)"
    else:
        head += f" did not print the line shown at {doc}:{missing[0]}:\n    {missing[1].strip()!r}\n" \
                "(each shown line must appear in the real output, in order; `...` matches any text)"
    shown = [text for _, text in command.shown if text.strip()]
    real = ran.output.splitlines()
    diff = list(difflib.unified_diff(shown, real, f"shown at {doc}:{command.line + 1}", f"real output (exit {ran.rc})",
                                     lineterm="", n=len(real) + len(shown)))  # all of it: the real output in full
    return f"{head}\n" + "\n".join(diff or ["(shown and real output are the same)"])


def environment(home: Path) -> dict[str, str]:
    """A reader's shell, minus everything of the machine running the tests: no keys, no FTOPS_* settings."""
    venv_bin = str(Path(sys.executable).parent)
    return {
        "PATH": os.pathsep.join([venv_bin, os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")]),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
        "TERM": "dumb",
        "COLUMNS": "100",  # --help is laid out for this width
        "PYTHONUNBUFFERED": "1",  # stdout and stderr interleave as on a terminal
        "FTOPS_POLL_INTERVAL": POLL_INTERVAL,
        "FTOPS_TODAY": TODAY,
    }


def example_project(dest: Path) -> Path:
    """A scratch copy of the example project a reader of the README has after cloning: ftops.yaml, specs/ (with
    their datasets), schemas/, and .venv/ pointing at the environment the tests run in."""
    dest.mkdir(parents=True)
    shutil.copy(ROOT / "ftops.yaml", dest / "ftops.yaml")
    shutil.copytree(ROOT / "specs", dest / "specs")
    shutil.copytree(ROOT / "ftops" / "schemas", dest / "schemas")
    (dest / ".venv").symlink_to(Path(sys.executable).parent.parent)
    return dest


@dataclass
class DocSession:
    """One document followed from the top: its blocks run in order in one scratch project."""

    doc: str
    blocks: list[Block]
    workdir: Path
    results: dict[str, str | None] = field(default_factory=dict)  # block id -> None (passed) or why it failed

    def __post_init__(self) -> None:
        self.project = example_project(self.workdir / "ftops")
        self.home = self.workdir / "home"
        self.home.mkdir()
        self.state = self.workdir / "shell"
        self.state.mkdir()

    def run_through(self, block: Block) -> None:
        """Run every block of the document up to ``block`` that has not run yet; raise if ``block`` fails."""
        for earlier in self.blocks:
            if earlier.id not in self.results:
                try:
                    self._run_block(earlier)
                    self.results[earlier.id] = None
                except DocExampleFailed as exc:
                    self.results[earlier.id] = str(exc)
            if earlier.id == block.id:
                break
            if self.results[earlier.id] is not None:
                raise DocExampleFailed(f"{block.id} was not run: the block at {earlier.id} before it failed")
        if self.results[block.id] is not None:
            raise DocExampleFailed(self.results[block.id])

    def _run_block(self, block: Block) -> None:
        (self.state / "cwd").write_text(str(self.project))
        (self.state / "env").write_text("")
        for command in block.commands:
            ran = self.run(command)
            missing = unmatched(command.shown, ran.output)
            if ran.rc != 0 or missing is not None:
                raise DocExampleFailed(explain(self.doc, block, ran, missing))

    def run(self, command: Command) -> Ran:
        state = self.state
        script = (f'cd "$(cat {state}/cwd)" && source {state}/env 2>/dev/null\n{command.text}\n'
                  f'__rc=$?; pwd > {state}/cwd; export -p > {state}/env; exit $__rc\n')
        (state / "script.sh").write_text(script)
        log = state / "output"
        with open(log, "wb") as out:
            process = subprocess.Popen(["bash", str(state / "script.sh")], cwd=self.project, stdin=subprocess.DEVNULL,
                                       stdout=out, stderr=subprocess.STDOUT, env=environment(self.home),
                                       start_new_session=True)
            try:
                rc = process.wait(timeout=COMMAND_TIMEOUT)
            except subprocess.TimeoutExpired:
                rc = -1
            finally:
                try:  # whatever it left running in the background goes with it
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                process.wait()
        output = log.read_text(encoding="utf-8", errors="replace")
        if rc == -1:
            output += f"\n(killed after {COMMAND_TIMEOUT:.0f} s)"
        return Ran(command, rc, output)


def documents() -> list[Path]:
    """The documents whose examples run: the README and docs/*.md."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def all_blocks() -> list[Block]:
    return [block for path in documents()
            for block in extract(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
