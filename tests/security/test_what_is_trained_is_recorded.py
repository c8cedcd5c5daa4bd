"""What is trained is what is recorded, and the plan shows every change a reviewer must see, including changes
made only to ftops.lock."""

from __future__ import annotations

import copy
import json
import os
import pty
import select
import subprocess
import time

import yaml

from ftops.lockfile import seal_of
from tests.reliability.support import EmulatorProcess, ftops_cmd, ftops_env, make_project


def _read_until(fd: int, needle: bytes, timeout: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


def test_a_dataset_edited_at_the_confirmation_prompt_is_refused_not_trained_under_the_old_hash(tmp_path):
    with EmulatorProcess(tmp_path / "emu", job_duration=600.0) as emu:
        root = make_project(tmp_path / "proj", emu.url)
        for name in ("child", "shared-a", "shared-b"):
            (root / "specs" / f"{name}.yaml").unlink()
        primary, secondary = pty.openpty()
        proc = subprocess.Popen(ftops_cmd(root, "apply"), stdin=secondary, stdout=secondary, stderr=secondary,
                                env=ftops_env(root), close_fds=True)
        os.close(secondary)
        try:
            shown = _read_until(primary, b"Apply these changes?", timeout=60)
            assert b"Apply these changes?" in shown, shown.decode(errors="replace")
            with open(root / "data" / "parent.jsonl", "a", encoding="utf-8") as fh:  # edited while it waits
                fh.write(json.dumps({"messages": [{"role": "user", "content": "sneaked in"},
                                                  {"role": "assistant", "content": "after review"}]}) + "\n")
            os.write(primary, b"y\n")
            rest = _read_until(primary, b"Apply finished", timeout=60)
            assert proc.wait(timeout=60) == 1, rest.decode(errors="replace")
        finally:
            os.close(primary)
        output = rest.decode(errors="replace")
        assert "changed after the plan was made" in output and "nothing was trained on it" in output, output
        state = emu.state()
    assert state["jobs"] == []
    assert [f for f in state["files"] if f["purpose"] == "fine-tune" and "parent" in f["filename"]] == []


def _edit_lock(root, change) -> None:
    path = root / "ftops.lock"
    lock = yaml.safe_load(path.read_text())
    change(lock)
    path.write_text(yaml.safe_dump(lock, sort_keys=False))


def test_a_pin_edited_only_in_the_lockfile_is_a_finding_with_and_without_provider_access(project):
    for name in ("a", "b"):
        project.dataset(f"data/{name}.jsonl", 12, start=0 if name == "a" else 50)
        project.spec(name)
    assert project.run("apply", "--auto-approve", "--wait").rc == 0
    a_model, b_model = project.model("a"), project.model("b")

    def point_a_at_b(lock):
        lock["models"]["a"]["model"] = b_model

    _edit_lock(project.root, point_a_at_b)  # a pull request editing only ftops.lock
    offline = project.run("plan", "--no-refresh", "--detailed-exitcode")
    assert offline.rc == 1, offline.all
    assert "ERROR a: ftops.lock's entry was edited by hand" in offline.out
    online = project.run("plan", "--detailed-exitcode")
    assert online.rc == 2, online.all
    assert "! repair   a" in online.out and f"ftops.lock pins {b_model}, but its job" in online.out
    assert project.run("apply", "--auto-approve").rc == 0
    assert project.model("a") == a_model and len(project.jobs()) == 2  # re-pinned from the provider, not retrained
    assert project.run("plan", "--detailed-exitcode").rc == 0


def test_a_forged_entry_that_even_carries_a_fresh_seal_is_caught_by_the_providers_record(project):
    for name in ("a", "b"):
        project.dataset(f"data/{name}.jsonl", 12, start=0 if name == "a" else 50)
        project.spec(name)
    assert project.run("apply", "--auto-approve", "--wait").rc == 0
    a_model = project.model("a")

    def forge(lock):  # a careful attacker: a's pin, job and fingerprint all become b's, and the seal is recomputed
        a, b = lock["models"]["a"], lock["models"]["b"]
        a.update(model=b["model"], job=copy.deepcopy(b["job"]), fingerprint=b["fingerprint"])
        a["seal"] = seal_of(a)

    _edit_lock(project.root, forge)
    assert "edited by hand" not in project.run("plan", "--no-refresh").all  # the seal alone cannot tell
    online = project.run("plan", "--detailed-exitcode")
    assert online.rc == 2 and "! repair   a" in online.out, online.all
    assert "was not started for this spec and fingerprint (it belongs to spec 'b')" in online.out
    assert project.run("apply", "--auto-approve").rc == 0
    assert project.model("a") == a_model and len(project.jobs()) == 2


def test_merge_conflict_markers_in_the_lockfile_are_named_as_such(project):
    project.dataset("data/a.jsonl", 12)
    project.spec("a")
    assert project.run("apply", "--auto-approve", "--wait").rc == 0
    text = (project.root / "ftops.lock").read_text().splitlines(keepends=True)
    text.insert(5, "<<<<<<< HEAD\n")
    text.insert(8, "=======\n")
    text.insert(9, ">>>>>>> feature\n")
    (project.root / "ftops.lock").write_text("".join(text))
    result = project.run("plan")
    assert result.rc == 1 and "ftops.lock has git merge-conflict markers (line 6)" in result.err, result.all
    assert "git checkout --theirs ftops.lock" in result.err and "Traceback" not in result.all


def test_the_lockfile_is_readable_by_other_users_like_any_new_file(project):
    project.dataset("data/a.jsonl", 12)
    project.spec("a")
    assert project.run("apply", "--auto-approve").rc == 0
    mode = (project.root / "ftops.lock").stat().st_mode & 0o777
    umask = os.umask(0o022)
    os.umask(umask)
    assert mode == 0o666 & ~umask


def test_the_child_of_a_parent_on_another_provider_is_refused_before_anything_is_uploaded(project, monkeypatch):
    project.write("ftops.yaml", yaml.safe_dump({"default_provider": "emu", "providers": {
        "emu": {"type": "openai", "base_url": project.emu.url, "api_key_env": "FTOPS_TEST_KEY"},
        "other": {"type": "local"}}}))
    project.parent_and_child()
    project.spec("child", base_model={"spec": "parent"}, provider="other")
    result = project.run("validate")
    assert result.rc == 1
    assert "continues from spec 'parent', which trains on provider 'emu'" in result.err
    assert project.admin("GET", "state")["files"] == []



def _git(root, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                   check=True, capture_output=True)


def test_cached_results_committed_to_git_are_not_trusted(project):
    # A pull request could commit a .ftops/ whose cached dataset report says "no errors" for a broken file (or
    # tiny token counts under a budget). A committed .ftops/ is therefore ignored, and the plan says so.
    rows = [json.dumps({"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant",
                                                                            "content": f"a{i}"}]})
            for i in range(12)]
    project.write("data/train.jsonl", "\n".join(rows[:5] + ["{not json"] + rows[5:]) + "\n")
    project.spec("a", training_file="../data/train.jsonl")
    _git(project.root, "init", "-q")
    first = project.run("plan")
    assert first.rc == 1 and "train.jsonl:6: [invalid_json]" in first.err, first.all
    reports = list((project.root / ".ftops" / "dataset").glob("*.json"))
    assert len(reports) == 1
    lie = json.loads(reports[0].read_text())
    lie["errors"] = []
    reports[0].write_text(json.dumps(lie))
    believed = project.run("plan")  # the machine's own cache is trusted: the edited report is believed
    assert believed.rc == 0 and "invalid_json" not in believed.err, believed.all
    _git(project.root, "add", "-f", ".ftops")
    _git(project.root, "commit", "-qm", "a cache that lies")
    committed = project.run("plan")
    assert committed.rc == 1 and "train.jsonl:6: [invalid_json]" in committed.err, committed.all
    assert ".ftops/ is committed to git" in committed.err
