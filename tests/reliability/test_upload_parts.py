"""Multi-part uploads (OpenAI's Uploads API) stream each part from the file and hash what is sent: the provider
gets the file's exact bytes in the planned number of parts, a part sent again after a dropped connection is
hashed once, and a file that changes (or shrinks) while it is being sent is refused and nothing is created.

The emulator is real; the only thing between the client and it is a transport that forwards every request and,
where a test says so, edits the dataset or drops the connection just before a given part goes out."""

from __future__ import annotations

import hashlib
import math

import httpx
import pytest

from ftops.emulator import EmulatorConfig, start
from ftops.errors import DatasetError
from ftops.providers.http import RetryPolicy
from tests.conftest import chat_example, openai_client, write_jsonl

PART = 4096


class Meddler(httpx.BaseTransport):
    """Forwards to the emulator; calls ``before(n, request)`` ahead of the n-th part request (1-based)."""

    def __init__(self, before=None):
        self.inner = httpx.HTTPTransport()
        self.before = before
        self.parts = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/parts"):
            self.parts += 1
            if self.before:
                self.before(self.parts, request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def emu(tmp_path):
    with start(EmulatorConfig(state_dir=tmp_path / "state", job_duration=10.0)) as emulator:
        yield emulator


def _dataset(tmp_path, n: int = 300):
    path = write_jsonl(tmp_path / "train.jsonl", [chat_example(i) for i in range(n)])
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def _client(emu, transport):
    # a tiny part size and no simple upload: every file goes through the Uploads API in several parts
    return openai_client("emu", emu.url, transport=transport, simple_upload_limit=0, part_size=PART,
                         policy=RetryPolicy(sleep=lambda s: None))


def _state(emu) -> dict:
    return httpx.get(emu.admin_url + "/state").raise_for_status().json()


def test_a_file_larger_than_a_part_arrives_whole_in_as_many_parts_as_it_needs(tmp_path, emu):
    path, sha = _dataset(tmp_path)
    meddler = Meddler()
    provider = _client(emu, meddler)
    remote = provider.stage_file(path, sha256=sha)
    provider.close()
    size = path.stat().st_size
    assert size > 10 * PART and meddler.parts == math.ceil(size / PART)
    assert remote.bytes == size and not remote.reused
    content = httpx.get(f"{emu.url}/files/{remote.id}/content", headers={"authorization": "Bearer k"}).content
    assert content == path.read_bytes()
    upload = next(u for u in _state(emu)["uploads"])
    assert upload["status"] == "completed" and upload["file"]["id"] == remote.id


def test_a_part_sent_again_after_a_dropped_connection_is_hashed_once(tmp_path, emu):
    path, sha = _dataset(tmp_path)

    def drop_third_part_once(n, request):
        if n == 3:
            stream = iter(request.stream)
            for _ in range(3):  # the boundary, the part's headers, its bytes went out; then the connection broke
                next(stream)
            raise httpx.WriteError("connection reset while sending")

    provider = _client(emu, Meddler(drop_third_part_once))
    remote = provider.stage_file(path, sha256=sha)
    provider.close()
    content = httpx.get(f"{emu.url}/files/{remote.id}/content", headers={"authorization": "Bearer k"}).content
    assert content == path.read_bytes()


@pytest.mark.parametrize("edit", ["rewrite", "truncate"])
def test_a_file_edited_while_its_parts_are_sent_is_refused_and_no_file_is_made(tmp_path, emu, edit):
    path, sha = _dataset(tmp_path)
    original = path.read_bytes()

    def edit_before_fifth_part(n, request):
        if n == 5:
            if edit == "rewrite":  # same size, other bytes, in a part not sent yet
                path.write_bytes(original[:6 * PART] + original[6 * PART:].replace(b"plus", b"PLUS"))
            else:
                path.write_bytes(original[:5 * PART + 100])

    provider = _client(emu, Meddler(edit_before_fifth_part))
    with pytest.raises(DatasetError, match="changed|shorter"):
        provider.stage_file(path, sha256=sha)
    provider.close()
    state = _state(emu)
    assert state["files"] == []
    assert [u["status"] for u in state["uploads"]] == ["cancelled"]
