"""Uploads are content-addressed: a file an interrupted apply uploaded (but never recorded) is found and reused,
also when several specs start uploading at the same moment in one apply."""

from __future__ import annotations

import hashlib
import threading
import time

import httpx

from ftops.emulator import EmulatorConfig, start
from ftops.providers.http import RetryPolicy
from ftops.providers.openai.client import upload_name
from tests.conftest import openai_client
from tests.conftest import TEST_KEY_ENV, Project
from tests.reliability.support import audit, check_converged, make_project


def _uploads(state: dict) -> list[str]:
    return [f["filename"] for f in state["files"] if f["purpose"] == "fine-tune"]


def test_files_uploaded_before_a_crash_are_reused_by_specs_starting_together(tmp_path):
    emu = start(EmulatorConfig(state_dir=tmp_path / "emulator", job_duration=10.0))
    try:
        root = make_project(tmp_path / "proj", emu.url, key_env=TEST_KEY_ENV)
        project = Project(root, emu, bind={TEST_KEY_ENV: emu.url})
        # what an apply killed right after its uploads leaves behind: the files, and no lockfile entry for them
        with httpx.Client(base_url=emu.url, headers={"authorization": "Bearer k"}) as client:
            for data in sorted((root / "data").glob("*.jsonl")):
                sha = hashlib.sha256(data.read_bytes()).hexdigest()
                client.post("files", data={"purpose": "fine-tune"},
                            files={"file": (upload_name(data, sha), data.read_bytes())}).raise_for_status()
        before = len(_uploads(project.admin("GET", "state")))
        result = project.run("apply", "--auto-approve", "--wait")
        assert result.rc == 0, result.all
        state = project.admin("GET", "state")
    finally:
        emu.stop()
    assert len(_uploads(state)) == before == 4, _uploads(state)
    assert audit(state).duplicate_uploads == 0
    assert check_converged(root, state) == []


def test_specs_uploading_at_the_same_moment_wait_for_one_listing_of_the_provider_files(tmp_path):
    """Two threads of one apply upload different files; both files already exist on a provider that is slow
    to list them. Neither may conclude "not there" from a listing that is still being fetched."""
    files = {}
    for name in ("a.jsonl", "b.jsonl"):
        path = tmp_path / name
        path.write_text(f'{{"file": "{name}"}}\n')
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        files[path] = sha
    listing = [{"id": f"file-{i}", "filename": upload_name(p, sha), "bytes": p.stat().st_size, "purpose": "fine-tune"}
               for i, (p, sha) in enumerate(files.items())]
    posts = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path.endswith("/files"):
            time.sleep(0.3)  # a provider with many files takes a while to list them
            return httpx.Response(200, json={"object": "list", "data": listing, "has_more": False})
        posts.append(request.url.path)
        return httpx.Response(200, json={"id": f"file-new-{len(posts)}", "bytes": 1, "purpose": "fine-tune"})

    provider = openai_client("slow", "http://slow.invalid/v1", transport=httpx.MockTransport(handle), policy=RetryPolicy(sleep=lambda s: None))
    found = {}

    def upload(path, sha):
        found[path.name] = provider.stage_file(path, sha256=sha).id

    threads = [threading.Thread(target=upload, args=item) for item in files.items()]
    for t in threads:
        t.start()
        time.sleep(0.05)
    for t in threads:
        t.join()
    provider.close()
    assert posts == []
    assert found == {"a.jsonl": "file-0", "b.jsonl": "file-1"}


def test_a_file_on_a_later_page_of_the_provider_listing_is_found_not_uploaded_again(tmp_path):
    path = tmp_path / "late.jsonl"
    path.write_text('{"late": true}\n')
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    pages = {None: ([{"id": "file-old", "filename": "0000-old.jsonl", "bytes": 3}], True),
             "file-old": ([{"id": "file-late", "filename": upload_name(path, sha), "bytes": path.stat().st_size}],
                          False)}
    posts = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            data, more = pages[request.url.params.get("after")]
            return httpx.Response(200, json={"object": "list", "data": data, "has_more": more})
        posts.append(request.url.path)
        return httpx.Response(200, json={"id": "file-new", "bytes": 1})

    provider = openai_client("paged", "http://paged.invalid/v1", transport=httpx.MockTransport(handle), policy=RetryPolicy(sleep=lambda s: None))
    assert provider.stage_file(path, sha256=sha).id == "file-late"
    provider.close()
    assert posts == []
