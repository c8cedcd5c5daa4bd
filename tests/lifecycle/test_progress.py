"""Live progress bars: on a terminal (FTOPS_PROGRESS=on stands in for one) apply --wait draws a bar per job and
large uploads a bar of bytes; in CI (not a terminal) the plain lines are exactly as before."""

from __future__ import annotations

import io

import pytest

from ftops import filehash
from ftops.progress import Live


@pytest.mark.parametrize("forced", ["on", "off"])
def test_apply_wait_draws_bars_only_on_a_terminal(openai_world, monkeypatch, forced):
    world = openai_world
    monkeypatch.setenv("FTOPS_PROGRESS", forced)
    world.dataset("data/a.jsonl", 12)
    world.spec("a")

    applied = world.run("apply", "--auto-approve", "--wait")

    assert applied.rc == 0, applied.all
    assert ("━" in applied.out) == (forced == "on"), applied.out
    assert "a: pinned ft:" in applied.out  # the plain lines are there either way
    if forced == "off":
        assert "\x1b[" not in applied.out


def test_a_large_upload_gets_a_bar_of_bytes(tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_bytes(b"x" * (3 << 20))
    screen = io.StringIO()
    with Live(screen, large_upload=1 << 20) as live:
        filehash.upload_watcher = live.upload
        try:
            with filehash.HashingReader(path) as reader:
                while reader.read(1 << 20):
                    pass
        finally:
            filehash.upload_watcher = None
    assert "uploading big.jsonl" in screen.getvalue()
    assert "/3.1 MB" in screen.getvalue(), screen.getvalue()  # bytes sent of the total
