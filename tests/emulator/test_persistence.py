"""State on disk: restarts, two processes on one state dir, concurrent clients, and `ftops emulator serve`."""

from __future__ import annotations

import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from ftops.cli.main import main
from ftops.emulator import EmulatorConfig, start

from .support import Admin, chat_rows, jsonl, sdk, upload


def test_job_continues_across_a_restart_on_the_same_state_dir(tmp_path):
    config = EmulatorConfig(state_dir=tmp_path / "state", job_duration=3.0)
    with start(config) as first, sdk(first) as client:
        job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=upload(client, chat_rows(10)))
        before = Admin(first).advance(1.5)
        assert client.fine_tuning.jobs.retrieve(job.id).status == "running"
    with start(config) as second, sdk(second) as client:
        admin = Admin(second)
        assert admin.state()["now"] >= before  # the clock offset is part of the state
        assert client.fine_tuning.jobs.retrieve(job.id).status == "running"
        admin.advance(2)
        done = client.fine_tuning.jobs.retrieve(job.id)
        assert done.status == "succeeded"
        assert client.models.retrieve(done.fine_tuned_model).id == done.fine_tuned_model


@pytest.mark.parametrize("saved_before", [True, False], ids=["state-on-disk", "fresh-state"])
def test_a_transaction_that_crashes_leaves_no_half_made_change(tmp_path, saved_before):
    from ftops.emulator.state import Store

    store = Store(EmulatorConfig(state_dir=tmp_path))
    if saved_before:
        with store.transaction() as tx:
            tx.data["models"]["kept"] = {"id": "kept"}
            tx.touch()
    with pytest.raises(KeyError), store.transaction() as tx:
        tx.data["models"]["half-made"] = {"id": "half-made"}
        tx.data["seq"] += 1
        raise KeyError("a bug in a handler")
    with store.transaction() as tx:
        assert list(tx.data["models"]) == (["kept"] if saved_before else [])
        assert tx.data["seq"] == 0


def test_concurrent_clients_lose_nothing(emu, admin):
    def work(i: int) -> tuple[str, str]:
        with sdk(emu) as client:
            file_id = client.files.create(file=(f"t{i}.jsonl", jsonl(chat_rows(10, tag=str(i)))),
                                          purpose="fine-tune").id
            job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id,
                                                 metadata={"worker": str(i)})
            return file_id, job.id

    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(work, range(16)))
    state = admin.state()
    assert sorted(f["id"] for f in state["files"]) == sorted(f for f, _ in made)
    assert sorted(j["id"] for j in state["jobs"]) == sorted(j for _, j in made)


@pytest.fixture
def served(tmp_path):
    """`ftops emulator serve` in a subprocess on tmp_path/"shared"; yields (process, first line)."""
    proc = subprocess.Popen([sys.executable, "-c", "from ftops.cli.main import run; run()", "emulator", "serve",
                             "--state", str(tmp_path / "shared"), "--job-duration", "3"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield proc, proc.stdout.readline().rstrip("\n")
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def test_serve_prints_its_url_first_and_exits_cleanly_on_sigterm(served):
    proc, first = served
    assert first.startswith("FTOPS_EMULATOR_URL=http://127.0.0.1:") and first.endswith("/v1")
    url = first.split("=", 1)[1]
    assert httpx.get(url + "/models", headers={"authorization": "Bearer k"}).status_code == 200
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0
    assert proc.stderr.read() == ""


def test_two_processes_share_one_state_dir(served, tmp_path):
    proc, first = served
    other_url = first.split("=", 1)[1]
    with start(EmulatorConfig(state_dir=tmp_path / "shared")) as mine, \
            sdk(mine) as here, httpx.Client(base_url=other_url, headers={"authorization": "Bearer k"}) as there:
        file_id = there.post("/files", files={"file": ("t.jsonl", jsonl(chat_rows(10)))},
                             data={"purpose": "fine-tune"}).json()["id"]
        job = here.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id)  # made by the other process
        Admin(mine).advance(10)  # the clock jump is shared too
        remote = there.get(f"/fine_tuning/jobs/{job.id}").json()
        assert remote["status"] == "succeeded" and remote["fine_tuned_model"]

        def create(i: int) -> str:  # alternate between the two processes
            url = other_url if i % 2 else mine.url
            response = httpx.post(url + "/files", files={"file": (f"c{i}.jsonl", b"{}\n")},
                                  data={"purpose": "fine-tune"}, headers={"authorization": "Bearer k"})
            return response.json()["id"]

        with ThreadPoolExecutor(6) as pool:
            ids = set(pool.map(create, range(24)))
        listed = {f.id for f in here.files.list()}
        assert ids <= listed and len(ids) == 24
        assert {f["id"] for f in there.get("/files").json()["data"]} == listed
    proc.send_signal(signal.SIGINT)
    assert proc.wait(10) == 0


def test_serve_rejects_bad_options_as_a_user_error(capsys):
    assert main(["emulator", "serve", "--fault-rate", "2"]) == 1
    assert "fault_rate" in capsys.readouterr().err
    assert main(["emulator", "serve", "--fault-kinds", "429,teapot"]) == 1
