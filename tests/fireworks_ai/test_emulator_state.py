"""The fireworks dialect on the emulator's neutral core: its records persist in the same state file (also one
written before the dialect existed), the neutral ``core`` view and the admin endpoints work on its jobs."""

from __future__ import annotations

import json

import httpx

from ftops.emulator import EmulatorConfig, start

from .conftest import ACCOUNT, BASE, chat_rows, ready_dataset


def test_a_state_file_from_before_the_dialect_existed_is_read_and_extended(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    old = {"version": 1, "clock_offset": 0.0, "seq": 0, "files": {}, "uploads": {}, "jobs": {}, "models": {},
           "model_overrides": {}, "fail_next": []}  # no "dialects" key
    (state / "state.json").write_text(json.dumps(old))
    from fireworks import Fireworks

    with start(EmulatorConfig(state_dir=state, api="fireworks")) as emu:
        fw = Fireworks(api_key="k", account_id=ACCOUNT, base_url=emu.url, max_retries=0)
        ready_dataset(fw, "ds", chat_rows(3))
    with start(EmulatorConfig(state_dir=state, api="fireworks")) as emu:  # a restart keeps the dataset
        fw = Fireworks(api_key="k", account_id=ACCOUNT, base_url=emu.url, max_retries=0)
        assert fw.datasets.get("ds").state == "READY"
    assert "fireworks" in json.loads((state / "state.json").read_text())["dialects"]


def test_the_core_view_and_the_admin_fail_endpoint_work_on_resource_named_jobs(fw, emu, admin):
    train = ready_dataset(fw, "train", chat_rows(4))
    fw.supervised_fine_tuning_jobs.create(dataset=train, supervised_fine_tuning_job_id="j", base_model=BASE)
    name = f"accounts/{ACCOUNT}/supervisedFineTuningJobs/j"
    (job,) = admin.state()["core"]["jobs"]
    assert (job["id"], job["phase"], job["base"]) == (name, "validating", BASE)
    assert [f["filename"] for f in admin.state()["core"]["files"]] == [train]  # the dataset's content
    failed = httpx.post(f"{emu.admin_url}/jobs/{name}/fail", json={"code": "quota_exceeded",
                                                                   "message": "no capacity"}).json()
    assert failed["state"] == "JOB_STATE_FAILED" and failed["status"]["message"] == "no capacity"
    assert fw.supervised_fine_tuning_jobs.get("j").status.code == "FAILED_PRECONDITION"
