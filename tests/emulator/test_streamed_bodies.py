"""Uploads are received to disk as they arrive and each file is validated once: the bytes stored are exactly the
bytes sent (whatever they contain, however they are framed), nothing received is left behind, and a second job
on a file reads the first one's validation instead of the file."""

from __future__ import annotations

import hashlib
import os

import httpx
import pytest

from ftops.emulator import EmulatorConfig, start

from .support import chat_rows, jsonl


@pytest.fixture
def emu(tmp_path):
    """Jobs of 100 s: validated 15 s after they are created, whatever the speed of the machine."""
    with start(EmulatorConfig(state_dir=tmp_path / "state", job_duration=100.0)) as emulator:
        yield emulator


def _leftovers(emu) -> list[str]:
    return sorted(p.name for p in (emu.config.state_dir / "blobs").iterdir() if p.name.startswith("."))


def _tricky(size: int) -> bytes:
    """Bytes that look like multipart framing everywhere: line breaks, dashes and the start of boundaries."""
    unit = b"\r\n--\r\n-\n--x\r\r\n\n--" + os.urandom(64)
    return (unit * (size // len(unit) + 1))[:size]


def test_a_file_part_of_several_mib_is_stored_byte_for_byte_and_nothing_is_left_behind(emu, raw):
    data = _tricky(3 * 1024 * 1024 + 17)  # spans several read blocks
    done = raw.post("/uploads", json={"filename": "t.jsonl", "purpose": "fine-tune", "bytes": len(data),
                                      "mime_type": "text/jsonl"}).json()
    part = raw.post(f"/uploads/{done['id']}/parts", files={"data": ("blob", data)}).json()["id"]
    finished = raw.post(f"/uploads/{done['id']}/complete", json={"part_ids": [part],
                                                                "md5": hashlib.md5(data).hexdigest()}).json()
    assert finished["status"] == "completed", finished
    assert raw.get(f"/files/{finished['file']['id']}/content").content == data
    assert _leftovers(emu) == []


def test_a_chunked_upload_is_received_whole(emu, raw):
    data = jsonl(chat_rows(20_000))
    body = httpx.Request("POST", "http://x/", files={"file": ("train.jsonl", data)},
                         data={"purpose": "fine-tune"})
    boundary_header = body.headers["content-type"]
    encoded = body.read()
    answer = raw.post("/files", content=(encoded[i:i + 65_537] for i in range(0, len(encoded), 65_537)),
                      headers={"content-type": boundary_header})  # no length: Transfer-Encoding: chunked
    assert answer.status_code == 200, answer.text
    assert answer.json()["bytes"] == len(data)
    assert raw.get(f"/files/{answer.json()['id']}/content").content == data
    assert _leftovers(emu) == []


def test_refused_and_malformed_uploads_leave_no_received_files(emu, raw):
    data = _tricky(2 * 1024 * 1024)
    refused = raw.post("/files", files={"file": ("train.csv", data)}, data={"purpose": "fine-tune"})
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "file"
    boundary = "b0undary"
    cut = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"t.jsonl\"\r\n\r\n"
           ).encode() + data  # the closing boundary never comes
    malformed = raw.post("/files", content=cut, headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    assert malformed.status_code == 400 and "boundary" in malformed.json()["error"]["message"]
    assert raw.get("/files").json()["data"] == []  # and the connection still works
    assert _leftovers(emu) == []


def test_two_jobs_on_one_file_read_it_once_to_validate(emu, raw, admin):
    train = raw.post("/files", files={"file": ("t.jsonl", jsonl(chat_rows(40)))},
                     data={"purpose": "fine-tune"}).json()["id"]
    first = raw.post("/fine_tuning/jobs", json={"model": "gpt-4o-mini", "training_file": train}).json()
    admin.advance(20)  # past the first job's validation
    second = raw.post("/fine_tuning/jobs", json={"model": "gpt-4o-mini", "training_file": train,
                                                 "suffix": "again"}).json()
    admin.advance(20)
    jobs = {j["id"]: j for j in admin.state()["jobs"]}
    assert jobs[first["id"]]["status"] in ("queued", "running") and jobs[second["id"]]["status"] in ("queued",
                                                                                                    "running")
    assert admin.state()["core"]["validations"]["files_read"] == 1
    admin.advance(100)
    done = {j["id"]: j for j in admin.state()["jobs"]}
    assert done[first["id"]]["trained_tokens"] == done[second["id"]]["trained_tokens"] > 0
    assert admin.state()["core"]["validations"]["files_read"] == 1


def test_a_validation_file_that_shares_examples_still_fails_the_job_when_its_training_file_was_read_before(raw,
                                                                                                          admin):
    rows = chat_rows(30)
    train = raw.post("/files", files={"file": ("t.jsonl", jsonl(rows))}, data={"purpose": "fine-tune"}).json()["id"]
    valid = raw.post("/files", files={"file": ("v.jsonl", jsonl(chat_rows(3, "v") + rows[7:9]))},
                     data={"purpose": "fine-tune"}).json()["id"]
    alone = raw.post("/fine_tuning/jobs", json={"model": "gpt-4o-mini", "training_file": train}).json()
    admin.advance(20)
    paired = raw.post("/fine_tuning/jobs", json={"model": "gpt-4o-mini", "training_file": train,
                                                 "validation_file": valid}).json()
    admin.advance(20)
    assert admin.job(alone["id"])["status"] != "failed"
    failed = admin.job(paired["id"])
    assert failed["status"] == "failed" and failed["error"]["param"] == "validation_file"
    assert "shares 2 example(s)" in failed["error"]["message"] and "validation line 4" in failed["error"]["message"]
    assert admin.state()["core"]["validations"]["files_read"] == 3  # training; validation, training for the overlap


def test_jobs_on_many_files_due_at_once_are_all_validated_by_one_request(raw, admin):
    ids = []
    for n in range(24):
        train = raw.post("/files", files={"file": (f"t{n}.jsonl", jsonl(chat_rows(10, f"f{n}")))},
                         data={"purpose": "fine-tune"}).json()["id"]
        ids.append(raw.post("/fine_tuning/jobs", json={"model": "gpt-4o-mini", "training_file": train}).json()["id"])
    admin.advance(20)  # every job is past its validation time in this one request
    assert {admin.job(i)["status"] for i in ids} == {"queued"}
    assert admin.state()["core"]["validations"]["files_read"] == 24
