"""The official fireworks-ai SDK (1.2.30) drives the emulator's fireworks dialect end to end: datasets, supervised
and DPO jobs, models, deployments and deployed models, and the errors it raises for gRPC status bodies."""

from __future__ import annotations

import fireworks
import httpx
import pytest
from fireworks.lib.dataset_upload import DatasetUploadError, upload_dataset_shards

from .conftest import ACCOUNT, BASE, chat_rows, dpo_rows, jsonl, ready_dataset


def test_datasets_create_upload_validate_get_list_delete(fw, admin):
    data = jsonl(chat_rows(5))
    created = fw.datasets.create(dataset_id="ds-1", dataset={"display_name": "train", "example_count": "5",
                                                             "user_uploaded": {}, "format": "CHAT"})
    assert (created.name, created.state, created.example_count) == (f"accounts/{ACCOUNT}/datasets/ds-1",
                                                                    "UPLOADING", "5")
    uploaded = fw.datasets.upload("ds-1", file=("train.jsonl", data))
    assert (uploaded.bytes, uploaded.filename) == (len(data), "train.jsonl")
    assert fw.datasets.get("ds-1").state == "UPLOADING"  # not usable until the upload is validated
    fw.datasets.validate_upload("ds-1", body={})
    assert fw.datasets.get("ds-1").state == "READY"
    other = ready_dataset(fw, "ds-2", chat_rows(4, tag="o"))
    page = fw.datasets.list(page_size=1)
    assert [d.name for d in page.datasets] == [created.name] and page.next_page_token
    assert [d.name for d in fw.datasets.list(page_size=1)] == [created.name, other]  # the SDK follows the pages
    assert [d.name for d in fw.datasets.list(filter='state="READY"')] == [created.name, other]
    with pytest.raises(fireworks.BadRequestError, match="READY; its content cannot be changed"):
        fw.datasets.upload("ds-1", file=("train.jsonl", data))
    with pytest.raises(fireworks.ConflictError, match="already exists"):
        fw.datasets.create(dataset_id="ds-1", dataset={"user_uploaded": {}})
    fw.datasets.delete("ds-2")
    assert [d["name"] for d in admin.state()["datasets"]] == [created.name]
    with pytest.raises(fireworks.NotFoundError):
        fw.datasets.get("ds-2")


def test_a_large_dataset_goes_to_a_signed_url_that_the_sdk_helper_refuses_for_being_http(fw, tmp_path, admin):
    path = tmp_path / "big.jsonl"
    path.write_bytes(jsonl(chat_rows(6)))
    fw.datasets.create(dataset_id="big", dataset={"example_count": "6", "user_uploaded": {}, "format": "CHAT"})
    with pytest.raises(DatasetUploadError, match="non-https upload URLs"):
        upload_dataset_shards(fw, "big", str(path))  # the emulator's signed URLs are loopback http
    urls = fw.datasets.get_upload_endpoint("big", filename_to_size={"big.jsonl": str(path.stat().st_size)})
    url = urls.filename_to_signed_urls["big.jsonl"]
    assert url.startswith("http://127.0.0.1:") and "/_signed/" in url
    headers = {"content-type": "application/octet-stream",
               "x-goog-content-length-range": f"{path.stat().st_size},{path.stat().st_size}"}
    assert httpx.put(url, content=b"{}\n", headers=headers).status_code == 400  # not the size it was signed for
    assert httpx.put(url, content=path.read_bytes(), headers=headers).status_code == 200  # no Fireworks key
    fw.datasets.validate_upload("big", body={})
    record = next(d for d in admin.state()["datasets"] if d["name"].endswith("/big"))
    assert (record["state"], record["uploads"]) == ("READY", 1)


def test_a_supervised_job_runs_to_completion_and_its_model_is_listed(fw, admin):
    train = ready_dataset(fw, "train", chat_rows(6))
    valid = ready_dataset(fw, "valid", chat_rows(3, tag="v"))
    job = fw.supervised_fine_tuning_jobs.create(
        dataset=train, supervised_fine_tuning_job_id="ftops-job-1", base_model=BASE, output_model="bot-1",
        evaluation_dataset=valid, epochs=2, learning_rate=0.0002, lora_rank=16, batch_size_samples=4,
        display_name="bot", wandb_config={"enabled": True, "project": "p", "api_key": "secret"})
    assert job.name == f"accounts/{ACCOUNT}/supervisedFineTuningJobs/ftops-job-1"
    assert (job.state, job.epochs, job.lora_rank, job.learning_rate) == ("JOB_STATE_CREATING", 2, 16, 0.0002)
    assert job.wandb_config.project == "p" and job.wandb_config.api_key is None  # never echoed
    seen = set()
    for _ in range(30):
        admin.advance(0.5)
        seen.add(fw.supervised_fine_tuning_jobs.get("ftops-job-1").state)
    assert {"JOB_STATE_VALIDATING", "JOB_STATE_PENDING", "JOB_STATE_RUNNING", "JOB_STATE_WRITING_RESULTS",
            "JOB_STATE_COMPLETED"} <= seen
    done = fw.supervised_fine_tuning_jobs.get("ftops-job-1")
    assert done.completed_time is not None and done.estimated_cost.currency_code == "USD"
    model = fw.models.get("bot-1")
    assert (model.name, model.kind, model.state) == (f"accounts/{ACCOUNT}/models/bot-1", "HF_PEFT_ADDON", "READY")
    assert model.peft_details.base_model == BASE and model.peft_details.r == 16
    assert [m.name for m in fw.models.list()] == [model.name]
    assert BASE in [m.name for m in fw.models.list(account_id="fireworks")]
    assert fw.models.get("qwen3-8b", account_id="fireworks").context_length == 256000


def test_job_ids_are_the_clients_and_a_second_create_is_409_already_exists(fw):
    train = ready_dataset(fw, "train", chat_rows(6))
    fw.supervised_fine_tuning_jobs.create(dataset=train, supervised_fine_tuning_job_id="once", base_model=BASE)
    with pytest.raises(fireworks.ConflictError) as caught:
        fw.supervised_fine_tuning_jobs.create(dataset=train, supervised_fine_tuning_job_id="once", base_model=BASE)
    assert caught.value.body == {"code": 6, "message": caught.value.body["message"], "details": []}
    assert [j.name.rsplit("/", 1)[-1] for j in fw.supervised_fine_tuning_jobs.list()] == ["once"]
    fw.supervised_fine_tuning_jobs.delete("once")
    with pytest.raises(fireworks.NotFoundError):
        fw.supervised_fine_tuning_jobs.get("once")
    with pytest.raises(fireworks.ConflictError, match="cannot be used again"):  # a deleted job's id is spent
        fw.supervised_fine_tuning_jobs.create(dataset=train, supervised_fine_tuning_job_id="once", base_model=BASE)


def test_list_filters_on_state_and_pages(fw, admin):
    train = ready_dataset(fw, "train", chat_rows(6))
    for n in range(3):
        fw.supervised_fine_tuning_jobs.create(dataset=train, supervised_fine_tuning_job_id=f"job-{n}",
                                              base_model=BASE, output_model=f"m-{n}")
    fw.supervised_fine_tuning_jobs.cancel("job-1", body={})
    cancelled = fw.supervised_fine_tuning_jobs.list(filter='state="JOB_STATE_CANCELLED"')
    assert [j.name.rsplit("/", 1)[-1] for j in cancelled] == ["job-1"]
    first = fw.supervised_fine_tuning_jobs.list(page_size=2, order_by="createTime desc")
    assert len(first.supervised_fine_tuning_jobs) == 2 and first.next_page_token
    with pytest.raises(fireworks.BadRequestError, match="cannot filter on"):
        fw.supervised_fine_tuning_jobs.list(filter='model="x"')


def test_cancel_then_resume_continues_where_it_stopped(fw, admin):
    train = ready_dataset(fw, "train", chat_rows(6))
    fw.supervised_fine_tuning_jobs.create(dataset=train, supervised_fine_tuning_job_id="j", base_model=BASE)
    admin.advance(4)
    assert fw.supervised_fine_tuning_jobs.get("j").state == "JOB_STATE_RUNNING"
    fw.supervised_fine_tuning_jobs.cancel("j", body={})
    admin.advance(100)  # cancelled time does not count
    assert fw.supervised_fine_tuning_jobs.get("j").state == "JOB_STATE_CANCELLED"
    with pytest.raises(fireworks.BadRequestError, match="cannot be cancelled"):
        fw.supervised_fine_tuning_jobs.cancel("j", body={})
    assert fw.supervised_fine_tuning_jobs.resume("j", body={}).state == "JOB_STATE_RUNNING"
    with pytest.raises(fireworks.BadRequestError, match="only a paused, failed or cancelled job"):
        fw.supervised_fine_tuning_jobs.resume("j", body={})
    admin.advance(10)
    assert fw.supervised_fine_tuning_jobs.get("j").state == "JOB_STATE_COMPLETED"


def test_a_dpo_job_nests_its_settings_and_runs(fw, admin):
    prefs = ready_dataset(fw, "prefs", dpo_rows(5))
    job = fw.dpo_jobs.create(dataset=prefs, dpo_job_id="dpo-1", training_config={
        "base_model": BASE, "output_model": "dpo-model", "epochs": 1, "lora_rank": 8, "learning_rate": 1e-05},
        loss_config={"method": "DPO", "dpo": {"beta": 0.2}})
    assert job.name == f"accounts/{ACCOUNT}/dpoJobs/dpo-1"
    assert job.training_config.output_model == "dpo-model" and job.loss_config.dpo.beta == 0.2
    admin.advance(11)
    assert fw.dpo_jobs.get("dpo-1").state == "JOB_STATE_COMPLETED"
    assert fw.models.get("dpo-model").peft_details.base_model == BASE
    with pytest.raises(fireworks.BadRequestError, match="DPO or ORPO"):
        fw.dpo_jobs.create(dataset=prefs, dpo_job_id="dpo-2", training_config={"base_model": BASE},
                           loss_config={"method": "GRPO"})


def test_the_dataset_is_checked_while_the_job_validates(fw, admin):
    train = ready_dataset(fw, "tiny", chat_rows(2))  # Fireworks needs at least 3 examples
    fw.supervised_fine_tuning_jobs.create(dataset=train, supervised_fine_tuning_job_id="j", base_model=BASE)
    admin.advance(2)
    failed = fw.supervised_fine_tuning_jobs.get("j")
    assert failed.state == "JOB_STATE_FAILED" and "at least 3 examples" in failed.status.message


def test_requests_are_checked_as_the_sdk_types_describe(fw, raw):
    train = ready_dataset(fw, "train", chat_rows(6))
    url = f"/v1/accounts/{ACCOUNT}/supervisedFineTuningJobs"
    unknown = raw.post(url, json={"dataset": train, "baseModel": BASE, "nEpochs": 3})
    assert unknown.status_code == 400 and unknown.json()["code"] == 3
    assert 'Unknown name "nEpochs"' in unknown.json()["message"]
    for body, message in [({"baseModel": BASE}, "dataset is required"),
                          ({"dataset": train}, "exactly one of baseModel and warmStartFrom"),
                          ({"dataset": train, "baseModel": BASE, "loraRank": 12}, "power of 2 up to 32"),
                          ({"dataset": train, "baseModel": BASE, "batchSize": 4096}, "batchSizeSamples"),
                          ({"dataset": train, "baseModel": BASE, "epochs": "3"}, "'epochs' (int)"),
                          ({"dataset": train, "baseModel": "accounts/fireworks/models/nope"}, "not found")]:
        answer = raw.post(url, json=body)
        assert answer.status_code in (400, 404) and message in answer.json()["message"], (body, answer.text)
    not_ready = raw.post(f"/v1/accounts/{ACCOUNT}/datasets", json={"datasetId": "up", "dataset": {}})
    assert not_ready.status_code == 200
    answer = raw.post(url, json={"dataset": f"accounts/{ACCOUNT}/datasets/up", "baseModel": BASE})
    assert answer.status_code == 400 and answer.json()["code"] == 9 and "not READY" in answer.json()["message"]
    assert raw.post(url, params={"supervisedFineTuningJobId": "Bad_Id"}, json={
        "dataset": train, "baseModel": BASE}).json()["code"] == 3
    assert httpx.get(f"{raw.base_url}{url}").json() == {"code": 16, "message": httpx.get(
        f"{raw.base_url}{url}").json()["message"], "details": []}
    broken = raw.post(url, content=b"{not json", headers={"content-type": "application/json"})
    assert broken.status_code == 400 and broken.json()["code"] == 3 and "OpenAI" not in broken.text


def test_a_lora_is_loaded_onto_a_deployment_once(fw, admin):
    train = ready_dataset(fw, "train", chat_rows(6))
    fw.supervised_fine_tuning_jobs.create(dataset=train, supervised_fine_tuning_job_id="j", base_model=BASE,
                                          output_model="bot")
    admin.advance(11)
    model = f"accounts/{ACCOUNT}/models/bot"
    deployment = fw.deployments.create(base_model=BASE, deployment_id="dep-1", enable_addons=True,
                                       min_replica_count=0)
    assert deployment.state == "CREATING"
    with pytest.raises(fireworks.BadRequestError, match="not READY"):
        fw.lora.load(model=model, deployment=deployment.name)
    admin.advance(5)
    assert fw.deployments.get("dep-1").state == "READY"
    loaded = fw.lora.load(model=model, deployment=deployment.name)
    assert (loaded.state, loaded.model, loaded.default) == ("DEPLOYING", model, True)
    with pytest.raises(fireworks.BadRequestError, match="already deployed") as caught:
        fw.lora.load(model=model, deployment=deployment.name)
    assert caught.value.body["code"] == 9  # FAILED_PRECONDITION, as Fireworks answers it
    admin.advance(5)
    deployed_id = loaded.name.rsplit("/", 1)[-1]
    assert fw.lora.get(deployed_id).state == "DEPLOYED"
    assert [d.name for d in fw.lora.list(filter=f'model="{model}"')] == [loaded.name]
    assert fw.models.get("bot").deployed_model_refs[0].deployment == deployment.name
    with pytest.raises(fireworks.BadRequestError, match="require a dedicated deployment"):
        fw.lora.load(model=model, deployment=deployment.name, serverless=True)
    fw.deployments.create(base_model=BASE, deployment_id="plain")
    admin.advance(5)
    with pytest.raises(fireworks.BadRequestError, match="addons enabled"):
        fw.lora.load(model=model, deployment=f"accounts/{ACCOUNT}/deployments/plain")
    fw.lora.unload(deployed_id)
    assert list(fw.lora.list()) == []
