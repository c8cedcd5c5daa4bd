"""The HTTP surface: envelopes for every failure, x-request-id on every answer, auth, uploads' rules."""

from __future__ import annotations

import hashlib
import socket
from urllib.parse import urlsplit

import httpx
import pytest

from ftops.emulator import EmulatorConfig, start

from . import openapi
from .support import chat_rows, jsonl


def _raw_exchange(emu, request: bytes) -> str:
    """Send bytes on a fresh socket and read the answer until the server closes the connection."""
    url = urlsplit(emu.url)
    chunks = []
    with socket.create_connection((url.hostname, url.port), timeout=5) as sock:
        sock.sendall(request)
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode()


def _envelope(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["x-request-id"].startswith("req_")
    openapi.validate("ErrorResponse", response.json())
    return response.json()["error"]


def test_malformed_json_is_a_400_envelope(raw):
    error = _envelope(raw.post("/fine_tuning/jobs", content=b'{"model": ', headers={"content-type":
                                                                                      "application/json"}), 400)
    assert "parse the JSON" in error["message"] and error["type"] == "invalid_request_error"
    _envelope(raw.post("/fine_tuning/jobs", content=b"[1, 2]", headers={"content-type": "application/json"}), 400)


@pytest.mark.parametrize("number", [b"Infinity", b"-Infinity", b"NaN", b"1e309", b"-1e999"])
def test_a_number_json_cannot_carry_is_a_400_envelope_and_no_job(raw, number):
    train = raw.post("/files", files={"file": ("t.jsonl", jsonl(chat_rows(10)))}, data={"purpose": "fine-tune"})
    body = b'{"model": "gpt-4o-mini", "training_file": "%s", "hyperparameters": {"learning_rate_multiplier": %s}}'
    error = _envelope(raw.post("/fine_tuning/jobs", content=body % (train.json()["id"].encode(), number),
                               headers={"content-type": "application/json"}), 400)
    assert "parse the JSON" in error["message"]
    assert raw.get("/fine_tuning/jobs").json()["data"] == []


@pytest.mark.parametrize("path", ["/files", "/fine_tuning/jobs"])
def test_an_unknown_after_cursor_is_a_400_naming_after(raw, path):
    raw.post("/files", files={"file": ("t.jsonl", jsonl(chat_rows(10)))}, data={"purpose": "fine-tune"})
    error = _envelope(raw.get(path, params={"after": "nope-123"}), 400)
    assert error["param"] == "after" and "nope-123" in error["message"]


def test_wrong_content_type_is_a_415_envelope(raw):
    _envelope(raw.post("/fine_tuning/jobs", content=b"model=x", headers={"content-type": "text/plain"}), 415)
    _envelope(raw.post("/files", json={"purpose": "fine-tune"}), 415)


def test_oversized_body_is_a_413_envelope(raw, emu):
    error = _envelope(raw.post("/fine_tuning/jobs", content=b" " * (4 * 1024 * 1024 + 1),
                               headers={"content-type": "application/json"}), 413)
    assert "too large" in error["message"]
    # A 600 MB upload is refused from its headers alone, before any byte of the body is read.
    answer = _raw_exchange(emu, b"POST /v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n"
                                b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 629145600\r\n\r\n")
    assert answer.startswith("HTTP/1.1 413") and "x-request-id: req_" in answer and '"code": "request_too_large"' in answer


def test_unknown_path_and_wrong_method_get_envelopes(raw, emu):
    assert _envelope(raw.get("/fine_tunes"), 404)["message"] == "Invalid URL (GET /v1/fine_tunes)"
    error = _envelope(raw.put("/files"), 405)
    assert "GET, POST" in error["message"]
    _envelope(httpx.get(emu.admin_url + "/nope"), 404)
    _envelope(raw.get("/files/file-nope"), 404)
    _envelope(raw.get("/files", params={"limit": 0}), 400)


def test_garbage_request_line_gets_an_envelope_not_a_page(emu):
    answer = _raw_exchange(emu, b"NONSENSE\r\n\r\n")
    assert answer.startswith("HTTP/1.1 400") and '"error": {' in answer and "x-request-id: req_" in answer


def test_auth_needs_a_bearer_key_and_exactly_the_configured_one(tmp_path):
    with start(EmulatorConfig(state_dir=tmp_path, api_key="sk-right")) as emu:
        assert _envelope(httpx.get(emu.url + "/models"), 401)["code"] == "invalid_api_key"
        wrong = httpx.get(emu.url + "/models", headers={"authorization": "Bearer sk-wrong"})
        assert "sk-wrong" not in _envelope(wrong, 401)["message"]
        ok = httpx.get(emu.url + "/models", headers={"authorization": "Bearer sk-right"})
        assert ok.status_code == 200 and ok.headers["x-request-id"].startswith("req_")
        assert httpx.get(emu.admin_url + "/state").status_code == 200  # admin needs no key


def test_fine_tune_files_must_be_jsonl(raw):
    response = raw.post("/files", files={"file": ("train.csv", b"a,b\n")}, data={"purpose": "fine-tune"})
    assert _envelope(response, 400)["param"] == "file"
    assert _envelope(raw.post("/files", files={"file": ("x.jsonl", b"{}")}, data={"purpose": "nope"}),
                     400)["param"] == "purpose"


def _new_upload(raw, size: int) -> str:
    response = raw.post("/uploads", json={"filename": "t.jsonl", "purpose": "fine-tune", "bytes": size,
                                          "mime_type": "text/jsonl"})
    assert response.status_code == 200, response.text
    return response.json()["id"]


def _part(raw, upload_id: str, data: bytes) -> str:
    return raw.post(f"/uploads/{upload_id}/parts", files={"data": ("blob", data)}).json()["id"]


def test_upload_complete_checks_bytes_order_and_md5(raw):
    data = jsonl(chat_rows(10))
    upload_id = _new_upload(raw, len(data))
    first, second = _part(raw, upload_id, data[:100]), _part(raw, upload_id, data[100:])
    short = raw.post(f"/uploads/{upload_id}/complete", json={"part_ids": [first]})
    assert "declared" in _envelope(short, 400)["message"]
    bad_md5 = raw.post(f"/uploads/{upload_id}/complete", json={"part_ids": [first, second], "md5": "0" * 32})
    assert _envelope(bad_md5, 400)["param"] == "md5"
    done = raw.post(f"/uploads/{upload_id}/complete",
                    json={"part_ids": [first, second], "md5": hashlib.md5(data).hexdigest()}).json()
    openapi.validate("Upload", done)
    assert done["status"] == "completed"
    assert raw.get(f"/files/{done['file']['id']}/content").content == data
    _envelope(raw.post(f"/uploads/{upload_id}/cancel"), 400)  # no longer pending


def test_chunked_request_bodies_are_read(raw):
    body = [b'{"filename": "t.jsonl", "purpose": "fine-tune", ', b'"bytes": 3, "mime_type": "text/jsonl"}']
    response = raw.post("/uploads", content=iter(body), headers={"content-type": "application/json"})
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.status_code == 200 and response.json()["bytes"] == 3


def test_empty_file_list_has_string_cursors_as_the_schema_requires(raw):
    body = raw.get("/files").json()
    assert body == {"object": "list", "data": [], "has_more": False, "first_id": "", "last_id": ""}
    openapi.validate("ListFilesResponse", body)


def test_upload_parts_are_assembled_in_the_given_order(raw):
    upload_id = _new_upload(raw, 6)
    a, b = _part(raw, upload_id, b"abc"), _part(raw, upload_id, b"def")
    file_id = raw.post(f"/uploads/{upload_id}/complete", json={"part_ids": [b, a]}).json()["file"]["id"]
    assert raw.get(f"/files/{file_id}/content").content == b"defabc"


def test_uploads_expire_after_an_hour_and_can_be_cancelled(raw, admin):
    expiring, cancelled = _new_upload(raw, 3), _new_upload(raw, 3)
    assert raw.post(f"/uploads/{cancelled}/cancel").json()["status"] == "cancelled"
    admin.advance(3601)
    error = _envelope(raw.post(f"/uploads/{expiring}/parts", files={"data": ("blob", b"abc")}), 400)
    assert "expired" in error["message"]
    assert {u["id"]: u["status"] for u in admin.state()["uploads"]} == {expiring: "expired",
                                                                        cancelled: "cancelled"}


@pytest.mark.parametrize("path", ["/models", "/files", "/fine_tuning/jobs"])
def test_every_answer_has_a_request_id(raw, path):
    ids = {raw.get(path).headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3 and all(i.startswith("req_") and len(i) > 10 for i in ids)


def test_the_schema_check_can_fail():
    """The spec translation keeps the validator honest: it accepts what is valid and rejects what is not."""
    job = {"id": "ftjob-1", "object": "fine_tuning.job", "created_at": 1, "error": None, "fine_tuned_model": None,
           "finished_at": None, "hyperparameters": {"learning_rate_multiplier": 0.5}, "model": "m",
           "organization_id": "o", "result_files": [], "status": "paused", "trained_tokens": None,
           "training_file": "f", "validation_file": None, "seed": 1}
    openapi.validate("FineTuningJob", job)
    for broken in ({"status": "bogus"}, {"hyperparameters": {"learning_rate_multiplier": 0}}, {"seed": None}):
        with pytest.raises(AssertionError):
            openapi.validate("FineTuningJob", {**job, **broken})


@pytest.mark.parametrize("content_type", [None, "application/x-www-form-urlencoded", "text/plain"],
                         ids=["none", "curl-d", "text"])
def test_admin_endpoints_read_a_json_body_whatever_its_content_type_says(emu, content_type):
    """`curl -d '{"advance": 60}'` sends form-urlencoded; the README says no Content-Type is needed."""
    headers = {"content-type": content_type} if content_type else {}
    with httpx.Client(base_url=emu.admin_url, timeout=10) as admin:
        before = admin.get("/clock").json()["now"]
        moved = admin.post("/clock", content=b'{"advance": 60}', headers=headers)
        assert moved.status_code == 200 and moved.json()["now"] >= before + 60
        faults = admin.post("/faults", content=b'{"rate": 0.25, "kinds": ["429"], "seed": 3}', headers=headers)
        assert faults.status_code == 200 and faults.json()["rate"] == 0.25
        dated = admin.post("/models", content=b'{"id": "gpt-4o-mini-2024-07-18", "shutdown_date": "2027-03-01"}',
                           headers=headers)
        assert dated.status_code == 200 and dated.json()["shutdown_date"] == "2027-03-01"
        assert admin.get("/faults").json()["kinds"] == ["429"]
