"""The Fireworks client against the emulator's fireworks dialect: content-addressed datasets (never uploaded
twice), client-chosen job ids (never created twice, a new attempt after a failure), the deploy step, every
JOB_STATE_* in exactly one canonical bucket, and errors and garbage answers as ProviderErrors."""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from ftops.config import ProviderConfig
from ftops.errors import DatasetError, ProviderError
from ftops.launch import LaunchKey
from ftops.providers import base
from ftops.providers.answers import MalformedAnswer
from ftops.providers.base import TrainingRequest
from ftops.providers.fireworks import KIND, attempt_id, job_body, output_model_id, parse_attempt
from ftops.providers.fireworks.answers import STATES, canonical_state
from ftops.providers.http import RetryPolicy

from .conftest import BASE, chat_rows, jsonl

ACCOUNT = "acct-1"
FP = "v2:sha256:" + "ab" * 32


def open_client(url: str, **kwargs):
    pconf = ProviderConfig("fw", "fireworks", {"account": ACCOUNT, "base_url": url})
    return KIND.open(pconf, None, key="fw-test-key", policy=RetryPolicy(sleep=lambda s: None, base_delay=0.01),
                     **kwargs)


@pytest.fixture
def client(emu):
    c = open_client(emu.url)
    yield c
    c.close()


def dataset(tmp_path: Path, n: int = 5, tag: str = "q") -> tuple[Path, str]:
    path = tmp_path / f"{tag}-{n}.jsonl"
    path.write_bytes(jsonl(chat_rows(n, tag)))
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def request(spec: str, training_file: str, **fields) -> TrainingRequest:
    return TrainingRequest(launch=LaunchKey("proj", spec, FP), base_model=BASE, method="supervised",
                           training_file=training_file, **{"validation_file": None, **fields})


# -- the JOB_STATE_* partition ---------------------------------------------------------------------------------
SDK_STATES = ("UNSPECIFIED", "CREATING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED", "DELETING",
              "WRITING_RESULTS", "VALIDATING", "DELETING_CLEANING_UP", "PENDING", "EXPIRED", "RE_QUEUEING",
              "CREATING_INPUT_DATASET", "IDLE", "CANCELLING", "EARLY_STOPPED", "PAUSED")
DOCS_STATES = ("DELETED", "ARCHIVED")  # docs v5.10.0


def test_every_job_state_of_the_sdk_and_the_docs_is_in_exactly_one_canonical_bucket():
    from fireworks.types.supervised_fine_tuning_job import SupervisedFineTuningJob

    sdk = SupervisedFineTuningJob.model_fields["state"].annotation.__args__[0].__args__
    assert {s.removeprefix("JOB_STATE_") for s in sdk} == set(SDK_STATES)  # the reference list is the SDK's
    buckets = [state for state, raws in STATES.items() for _ in raws]
    listed = [raw for raws in STATES.values() for raw in raws]
    assert sorted(listed) == sorted(SDK_STATES + DOCS_STATES) and len(listed) == len(set(listed))
    assert set(buckets) <= set(base.STATES)
    expected = {"CANCELLING": base.CANCELLING, "PAUSED": base.PAUSED, "EARLY_STOPPED": base.SUCCEEDED,
                "EXPIRED": base.FAILED, "COMPLETED": base.SUCCEEDED, "WRITING_RESULTS": base.RUNNING,
                "UNSPECIFIED": base.UNKNOWN}
    assert {raw: canonical_state(f"JOB_STATE_{raw}") for raw in expected} == expected
    assert all(canonical_state(f"JOB_STATE_{raw}") != base.SUCCEEDED for raw in SDK_STATES + DOCS_STATES
               if raw.startswith("DELETING") or raw in DOCS_STATES)
    assert canonical_state("COMPLETED") == base.SUCCEEDED  # the older unprefixed spelling
    assert canonical_state("JOB_STATE_SOMETHING_NEW") == base.UNKNOWN and canonical_state(None) == base.UNKNOWN


# -- ids -------------------------------------------------------------------------------------------------------
def test_ids_follow_fireworks_resource_id_rules_and_carry_the_launch_key():
    import re

    rule = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
    key = LaunchKey("proj", "A_Very.Long_Spec_Name" * 5, FP)
    req = TrainingRequest(launch=key, base_model=BASE, method="supervised", training_file="d",
                          validation_file=None, suffix=None)
    for attempt in (1, 99, 999999):
        assert rule.match(attempt_id(key, attempt)) and rule.match(output_model_id(req, attempt))
        assert parse_attempt(f"accounts/a/dpoJobs/{attempt_id(key, attempt)}") == (key.id, attempt)
    assert parse_attempt("accounts/a/supervisedFineTuningJobs/someone-elses") is None
    assert output_model_id(req, 2).startswith("a-very-long-spec-name") and output_model_id(req, 2).endswith(
        f"-{key.id}-2")


def test_the_supervised_body_is_flat_camel_case_and_options_pass_through():
    req = request("bot", "accounts/a/datasets/ftops-1", validation_file="accounts/a/datasets/ftops-2",
                  hyperparameters={"n_epochs": 2, "learning_rate": 0.0001, "batch_size": 16, "warmup_steps": 10,
                                   "lora_rank": 8}, suffix="support-bot",
                  integrations=({"type": "wandb", "wandb": {"project": "p", "entity": "e"}},),
                  options={"maxContextLength": 4096, "lrScheduler": {"constant": {}}})
    key = req.launch.id
    assert job_body(req) == {
        "dataset": "accounts/a/datasets/ftops-1", "displayName": "support-bot",
        "wandbConfig": {"enabled": True, "project": "p", "entity": "e"}, "baseModel": BASE,
        "outputModel": f"support-bot-{key}-1", "epochs": 2, "learningRate": 0.0001, "batchSizeSamples": 16,
        "learningRateWarmupSteps": 10, "loraRank": 8, "evaluationDataset": "accounts/a/datasets/ftops-2",
        "maxContextLength": 4096, "lrScheduler": {"constant": {}}}
    continued = TrainingRequest(launch=req.launch, base_model="accounts/a/models/parent-1", method="supervised",
                                training_file="d", validation_file=None)
    assert job_body(continued)["warmStartFrom"] == "accounts/a/models/parent-1"
    assert "baseModel" not in job_body(continued)


# -- datasets --------------------------------------------------------------------------------------------------
def test_a_dataset_is_its_content_and_is_uploaded_once(client, admin, tmp_path):
    path, sha = dataset(tmp_path)
    first = client.stage_file(path, sha256=sha)
    assert first.id == f"accounts/{ACCOUNT}/datasets/ftops-{sha[:20]}" and not first.reused
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(path.read_bytes())
    again = client.stage_file(copy, sha256=sha)
    assert again.id == first.id and again.reused
    (record,) = admin.state()["datasets"]
    assert (record["state"], record["uploads"], record["sha256"], record["exampleCount"]) == ("READY", 1, sha, "5")
    assert client.file_exists(first.id) and not client.file_exists(f"accounts/{ACCOUNT}/datasets/ftops-nope")


def test_a_dataset_left_uploading_is_uploaded_again_into_the_same_dataset(client, fw, admin, tmp_path):
    path, sha = dataset(tmp_path)
    fw.datasets.create(dataset_id=f"ftops-{sha[:20]}", dataset={"user_uploaded": {}, "example_count": "5"})
    assert not client.file_exists(f"accounts/{ACCOUNT}/datasets/ftops-{sha[:20]}")  # an interrupted upload
    staged = client.stage_file(path, sha256=sha)
    assert not staged.reused
    (record,) = admin.state()["datasets"]
    assert (record["state"], record["uploads"], record["sha256"]) == ("READY", 1, sha)


def test_a_large_dataset_streams_to_the_signed_url_without_the_key(emu, admin, tmp_path):
    path, sha = dataset(tmp_path, 40)
    client = open_client(emu.url, simple_upload_limit=1024)  # so this small file takes the large-file path
    try:
        staged = client.stage_file(path, sha256=sha)
    finally:
        client.close()
    (record,) = admin.state()["datasets"]
    assert path.stat().st_size > 1024 and (record["state"], record["sha256"]) == ("READY", sha)
    assert staged.id.endswith(sha[:20])


def test_a_file_that_changed_after_the_plan_is_refused_and_its_dataset_removed(client, admin, tmp_path):
    path, sha = dataset(tmp_path)
    path.write_bytes(path.read_bytes() + jsonl(chat_rows(1, tag="late")))
    with pytest.raises(DatasetError, match="changed after the plan"):
        client.stage_file(path, sha256=sha)
    assert admin.state()["datasets"] == []


# -- jobs ------------------------------------------------------------------------------------------------------
def test_creating_twice_is_one_job_and_find_jobs_sees_it(client, admin, tmp_path):
    path, sha = dataset(tmp_path)
    training = client.stage_file(path, sha256=sha).id
    req = request("bot", training, suffix="bot")
    first = client.create_job(req)
    second = client.create_job(req)
    assert first.id == second.id == f"accounts/{ACCOUNT}/supervisedFineTuningJobs/{attempt_id(req.launch, 1)}"
    assert first.launch_key == req.launch.id and first.state == base.QUEUED
    assert [j.id for j in client.find_jobs(req.launch)] == [first.id]
    assert client.find_jobs(LaunchKey("proj", "other", FP)) == []
    assert len(admin.state()["jobs"]) == 1


def test_answers_lost_after_the_create_landed_are_adopted_not_created_again(emu, admin, tmp_path):
    path, sha = dataset(tmp_path)
    client = open_client(emu.url)
    try:
        training = client.stage_file(path, sha256=sha).id
        admin.post("/faults", {"rate": 0.5, "kinds": ["drop_after", "500"], "seed": 4})
        jobs = [client.create_job(request(f"s{n}", training)) for n in range(8)]
        requests = admin.http.get("/faults").json()["requests"]
        admin.post("/faults", {"rate": 0})
    finally:
        client.close()
    assert len({j.id for j in jobs}) == 8 and len(admin.state()["jobs"]) == 8
    assert requests > 8 * 3  # two lookups and a create each, and the faulted ones again


def test_a_retry_after_a_failure_is_the_next_attempt_and_a_deleted_id_is_skipped(client, admin, emu, tmp_path):
    path, sha = dataset(tmp_path)
    req = request("bot", client.stage_file(path, sha256=sha).id)
    first = client.create_job(req)
    httpx.post(f"{emu.admin_url}/jobs/{first.id}/fail", json={"message": "out of capacity"})
    failed = client.get_job(first.id)
    assert failed.state == base.FAILED and failed.error.message == "out of capacity"
    second = client.create_job(req)
    assert second.id.endswith(f"{req.launch.id}-2")
    assert [j.id for j in client.find_jobs(req.launch)] == [second.id, first.id]  # newest first
    client.cancel_job(second.id)
    assert client.cancel_job(second.id).state == base.CANCELLED  # already done is done
    client.delete_job(first.id)  # attempt 1's id is spent now
    third = client.create_job(req)
    assert third.id.endswith(f"{req.launch.id}-3")
    assert client.get_job(third.id).state == base.QUEUED


def test_list_jobs_is_ftops_jobs_newest_first_with_their_launch_keys(client, fw, tmp_path, admin):
    path, sha = dataset(tmp_path)
    training = client.stage_file(path, sha256=sha).id
    fw.supervised_fine_tuning_jobs.create(dataset=training, supervised_fine_tuning_job_id="by-hand",
                                          base_model=BASE)
    a = client.create_job(request("a", training))
    admin.advance(1)
    b = client.create_job(request("b", training))
    listed = client.list_jobs("proj")
    assert [j.id for j in listed] == [b.id, a.id]
    assert [j.launch_key for j in listed] == [LaunchKey("proj", "b", FP).id, LaunchKey("proj", "a", FP).id]


def test_a_refused_request_is_a_provider_error_with_fireworks_message_and_code(client, tmp_path):
    with pytest.raises(ProviderError) as caught:
        client.create_job(request("bot", f"accounts/{ACCOUNT}/datasets/ftops-missing"))
    error = caught.value
    assert error.status == 404 and error.code == "NOT_FOUND" and "ftops-missing" in str(error)
    assert client.get_model(f"accounts/{ACCOUNT}/models/none") is None
    assert BASE in {m.id for m in client.list_models()}


# -- the deploy step -------------------------------------------------------------------------------------------
def test_deploy_loads_the_model_once_and_answers_its_state(client, fw, admin, tmp_path):
    path, sha = dataset(tmp_path)
    job = client.create_job(request("bot", client.stage_file(path, sha256=sha).id))
    admin.advance(11)
    model = client.get_job(job.id).fine_tuned_model
    assert model == f"accounts/{ACCOUNT}/models/bot-{LaunchKey('proj', 'bot', FP).id}-1"
    fw.deployments.create(base_model=BASE, deployment_id="prod", enable_addons=True)
    admin.advance(5)
    first = client.deploy(model, {"deployment": "prod"})
    assert (first.state, first.raw_status) == (base.DEPLOYING, "DEPLOYING")
    assert first.model == f"{model}#accounts/{ACCOUNT}/deployments/prod"
    assert client.deploy(model, {"deployment": f"accounts/{ACCOUNT}/deployments/prod"}).id == first.id
    admin.advance(5)
    done = client.deploy(model, {"deployment": "prod"})
    assert (done.id, done.state) == (first.id, base.DEPLOYED)
    assert len(admin.state()["deployedModels"]) == 1
    with pytest.raises(ProviderError, match="not found"):
        client.deploy(model, {"deployment": "missing"})


# -- garbage answers -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("answer, message", [
    ({"supervisedFineTuningJobs": "x"}, "is not a list"),
    ({"supervisedFineTuningJobs": [{"state": "JOB_STATE_RUNNING"}]}, "has no string 'name'"),
    ({"supervisedFineTuningJobs": [], "nextPageToken": "same"}, "keeps answering the same nextPageToken"),
    ([1, 2], "is an array"),
])
def test_an_answer_that_is_not_fireworks_is_a_malformed_answer(answer, message):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            payload = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = open_client(f"http://127.0.0.1:{server.server_address[1]}")
    try:
        with pytest.raises(MalformedAnswer, match=message):
            client.list_jobs("proj")
    finally:
        client.close()
        server.shutdown()
