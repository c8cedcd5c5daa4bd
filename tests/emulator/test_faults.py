"""Fault injection: each kind as a client sees it, determinism under a seed, and the SDK retrying through it."""

from __future__ import annotations

import time

import httpx
import pytest

from ftops.emulator import EmulatorConfig, start

from .support import Admin, chat_rows, jsonl, sdk


def _faults(admin, kind: str) -> None:
    assert admin.post("/faults", {"rate": 1.0, "kinds": [kind], "seed": 1})["kinds"] == [kind]


@pytest.mark.parametrize("kind", ["429", "500", "503"])
def test_error_faults_answer_with_envelopes(raw, admin, kind):
    _faults(admin, kind)
    response = raw.get("/models")
    assert response.status_code == int(kind)
    assert response.headers["x-request-id"].startswith("req_")
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}
    if kind == "429":
        assert response.json()["error"]["code"] == "rate_limit_exceeded"
        assert float(response.headers["retry-after"]) > 0 and float(response.headers["retry-after-ms"]) > 0
    assert admin.state()["now"]  # admin paths are never faulted
    admin.post("/faults", {"rate": 0})
    assert raw.get("/models").status_code == 200


def test_drop_closes_the_connection_without_an_answer(raw, admin):
    _faults(admin, "drop")
    with pytest.raises(httpx.RemoteProtocolError):
        raw.post("/files", files={"file": ("t.jsonl", b"{}\n")}, data={"purpose": "fine-tune"})
    admin.post("/faults", {"rate": 0})
    assert admin.state()["files"] == []  # dropped before it was performed


def test_drop_after_commits_then_closes_the_connection(raw, admin):
    _faults(admin, "drop_after")
    with pytest.raises(httpx.RemoteProtocolError):
        raw.post("/files", files={"file": ("t.jsonl", b"{}\n")}, data={"purpose": "fine-tune"})
    admin.post("/faults", {"rate": 0})
    assert [f["filename"] for f in admin.state()["files"]] == ["t.jsonl"]  # performed, answer lost


def test_slow_answers_normally_after_a_delay(raw, admin):
    _faults(admin, "slow")
    started = time.monotonic()
    response = raw.get("/models")
    assert response.status_code == 200 and 1.0 <= time.monotonic() - started < 3.0


def _statuses(tmp_path, seed: int) -> list[int]:
    config = EmulatorConfig(state_dir=tmp_path / f"s{seed}", fault_rate=0.5, fault_kinds=("429", "500", "503"),
                            seed=seed)
    with start(config) as emu, httpx.Client(headers={"authorization": "Bearer k"}) as http:
        return [http.get(emu.url + "/models").status_code for _ in range(24)]


def test_fault_decisions_are_deterministic_under_a_seed(tmp_path):
    first = _statuses(tmp_path / "a", 42)
    assert first == _statuses(tmp_path / "b", 42)
    assert first != _statuses(tmp_path / "c", 43)
    assert 200 in first and {429, 500, 503} & set(first)


def test_sdk_retries_through_faults_without_duplicates(tmp_path):
    config = EmulatorConfig(state_dir=tmp_path, fault_rate=0.3, fault_kinds=("429", "503", "drop"), seed=5)
    with start(config) as emu, sdk(emu, max_retries=8) as client:
        ids = [client.files.create(file=(f"t{i}.jsonl", jsonl(chat_rows(10))), purpose="fine-tune").id
               for i in range(4)]
        job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=ids[0])
        seen = Admin(emu).http.get("/faults").json()["requests"]
        state = Admin(emu).state()
    assert seen > 5  # some of the 5 calls were faulted and retried
    assert sorted(f["id"] for f in state["files"]) == sorted(ids)
    assert [j["id"] for j in state["jobs"]] == [job.id]
