"""The official ``together`` SDK (3.1.1) drives the emulator's Together dialect end to end: its redirect upload
flow, job creation (which asks for the model's limits and a price estimate first), the job lifecycle in Together's
statuses, events, checkpoints, metrics, cancel, delete and both model lists. Every JSON answer the spec describes is
checked against Together's published OpenAPI spec (``together-openapi.yaml``)."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

import httpx
import pytest
import together

from ftops import tokens
from ftops.emulator import EmulatorConfig, start
from ftops.providers import base
from ftops.providers.together.client import STATUS_MAP

from . import together_openapi as spec
from .support import Admin, chat_rows, jsonl

LLAMA = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
LORA_ONLY = "Qwen/Qwen3.5-35B-A3B"
# Answers the published spec has no path for, and the schema they have on the SDK's side.
UNPUBLISHED = {("POST", r"/v1/files/[^/]+/preprocess"): "FileResponse"}


class Checked:
    """An httpx response hook: every 200 JSON answer is validated against the spec; the requests are kept."""

    def __init__(self):
        self.requests: list[tuple[str, str]] = []
        self.validated: list[str] = []

    def __call__(self, response: httpx.Response) -> None:
        method, path = response.request.method, unquote(urlsplit(str(response.request.url)).path)
        self.requests.append((method, path))
        if response.status_code != 200 or "json" not in response.headers.get("content-type", ""):
            return
        response.read()
        schema = spec.response_schema(method, path)
        name = next((n for (m, p), n in UNPUBLISHED.items() if m == method and re.fullmatch(p, path)), None)
        if schema is not None:
            spec.validate_schema(schema, response.json(), f"{method} {path}")
        elif name is not None:
            spec.validate(name, response.json())
        else:
            return
        self.validated.append(f"{method} {path}")


@pytest.fixture
def emu(tmp_path):
    with start(EmulatorConfig(state_dir=tmp_path / "state", api="together", job_duration=30.0)) as emulator:
        yield emulator


@pytest.fixture
def admin(emu):
    client = Admin(emu)
    yield client
    client.http.close()


@pytest.fixture
def checked():
    return Checked()


@pytest.fixture
def tg(emu, checked):
    http = together.DefaultHttpxClient(event_hooks={"response": [checked]})
    with together.Together(base_url=emu.origin, api_key="tg-test", max_retries=0, http_client=http,
                           project_id="proj_test") as client:
        yield client


@pytest.fixture
def raw(emu):
    with httpx.Client(base_url=emu.url, headers={"authorization": "Bearer tg-test"}, timeout=10) as c:
        yield c


def write(tmp_path, name: str, rows) -> object:
    path = tmp_path / name
    path.write_bytes(jsonl(rows))
    return path


def dpo_rows(n: int) -> list[dict]:
    return [{"input": {"messages": [{"role": "user", "content": f"q {i}?"}]},
             "preferred_output": [{"role": "assistant", "content": f"good {i}"}],
             "non_preferred_output": [{"role": "assistant", "content": f"bad {i}"}]} for i in range(n)]


def test_files_go_up_the_sdks_redirect_way_once_per_content_and_the_documented_way(tg, admin, tmp_path, checked):
    path = write(tmp_path, "train.jsonl", chat_rows(12))
    uploaded = tg.files.upload(file=path, purpose="fine-tune")
    assert (uploaded.filename, uploaded.bytes, uploaded.purpose, uploaded.file_type) == \
           ("train.jsonl", path.stat().st_size, "fine-tune", "jsonl")
    assert ("PUT", f"/together-uploads/{uploaded.id}") in checked.requests  # the bytes went to the Location
    assert tg.files.upload(file=path, purpose="fine-tune").id == uploaded.id  # 409: that checksum exists
    assert [f["id"] for f in admin.state()["files"]] == [uploaded.id]
    assert tg.files.retrieve(uploaded.id).id == uploaded.id
    assert tg.files.content(uploaded.id).read() == path.read_bytes()

    documented = tg.post("/v1/files/upload", cast_to=together.types.FileResponse,
                         body={"purpose": "fine-tune", "file_name": "valid.jsonl", "file_type": "jsonl"},
                         files=[("file", ("valid.jsonl", jsonl(chat_rows(10, "v")), "application/jsonl"))],
                         options={"headers": {"Content-Type": "multipart/form-data"}})
    assert documented.filename == "valid.jsonl" and documented.id != uploaded.id
    assert {f.id for f in tg.files.list().data} == {uploaded.id, documented.id}
    assert tg.files.delete(uploaded.id).deleted
    with pytest.raises(together.NotFoundError):
        tg.files.retrieve(uploaded.id)
    assert {"GET /v1/files", f"POST /v1/files/{uploaded.id}/preprocess", "POST /v1/files/upload"} \
        <= set(checked.validated)


def test_an_sft_lora_job_runs_through_togethers_statuses_to_its_model(tg, admin, tmp_path, checked):
    rows = chat_rows(12)
    train = tg.files.upload(file=write(tmp_path, "train.jsonl", rows), purpose="fine-tune").id
    valid = tg.files.upload(file=write(tmp_path, "valid.jsonl", chat_rows(10, "v")), purpose="fine-tune").id
    job = tg.fine_tuning.create(training_file=train, validation_file=valid, model=LLAMA, lora=True, lora_r=8,
                                lora_alpha=16, n_epochs=2, learning_rate=1e-5, suffix="ftops-test", n_evals=2,
                                random_seed=7, train_on_inputs="auto")
    calls = [c for c in checked.requests if c[1].startswith("/v1/fine-tunes")]
    assert calls[:3] == [("GET", "/v1/fine-tunes/models/limits"), ("POST", "/v1/fine-tunes/estimate-price"),
                         ("POST", "/v1/fine-tunes")]
    recorded = admin.state()["core"]["jobs"][0]["extra"]["request"]
    assert recorded["training_type"] == {"type": "Lora", "lora_r": 8, "lora_alpha": 16, "lora_dropout": 0.0,
                                         "lora_trainable_modules": "all-linear"}
    assert recorded["early_stopping_enabled"] is False  # a key the spec lacks is accepted
    assert job.status == "pending" and job.output_name.startswith(f"ftops-local/{LLAMA.split('/')[1]}-ftops-test-")

    seen, elapsed = [tg.fine_tuning.retrieve(job.id).status], 0.0
    for at in (6, 15, 28.2, 29.3, 31):  # of 30 s: validating, queued, running, the last stretch, done
        admin.advance(at - elapsed)
        elapsed = at
        seen.append(tg.fine_tuning.retrieve(job.id).status)
    assert seen == ["pending", "queued", "running", "compressing", "uploading", "completed"]

    done = tg.fine_tuning.retrieve(job.id)
    assert done.token_count == sum(tokens.count_example(r, tokens.get_encoding("cl100k_base")) for r in rows) * 2
    assert done.random_seed == 7 and done.n_epochs == 2 and done.training_method.method == "sft"
    types = [e.type for e in tg.fine_tuning.list_events(job.id).data]
    assert types[0] == "job_pending" and types[-1] == "job_complete"
    assert {"training_start", "model_compressing", "model_uploading", "checkpoint_save"} <= set(types)
    checkpoints = tg.fine_tuning.list_checkpoints(job.id).data
    assert checkpoints[0].checkpoint_type == "Final" and checkpoints[0].path == f"{done.x_model_output_name}:4"
    metrics = tg.fine_tuning.list_metrics(job.id).metrics
    assert metrics and all({"train/loss", "train/global_step", "eval/loss"} <= set(m) for m in metrics)
    assert tg.fine_tuning.list_metrics(job.id, global_step_from=3).metrics == [m for m in metrics
                                                                               if m["train/global_step"] >= 3]
    assert [j.id for j in tg.fine_tuning.list().data] == [job.id]

    name = done.x_model_output_name
    assert name in [m.name for m in tg.models.list()]  # GET /v2/projects/{id}/models, as the SDK lists them
    assert name in [m["id"] for m in tg.get("/v1/models", cast_to=object)]
    assert tg.fine_tuning.delete(job.id).message
    with pytest.raises(together.NotFoundError):
        tg.fine_tuning.retrieve(job.id)
    assert name not in [m["id"] for m in tg.get("/v1/models", cast_to=object)]
    assert {f"GET /v1/fine-tunes/{job.id}", "GET /v1/fine-tunes", "POST /v1/fine-tunes/estimate-price",
            "GET /v1/fine-tunes/models/limits", f"GET /v1/fine-tunes/{job.id}/events",
            f"GET /v1/fine-tunes/{job.id}/checkpoints", f"GET /v1/fine-tunes/{job.id}/metrics", "GET /v1/models",
            f"DELETE /v1/fine-tunes/{job.id}"} <= set(checked.validated)


def test_a_dpo_full_job_on_a_model_that_trains_full(tg, admin, tmp_path):
    train = tg.files.upload(file=write(tmp_path, "prefs.jsonl", dpo_rows(8)), purpose="fine-tune").id
    job = tg.fine_tuning.create(training_file=train, model=LLAMA, lora=False, training_method="dpo", dpo_beta=0.2)
    assert job.training_type.type == "Full" and job.training_method.dpo_beta == 0.2
    admin.advance(31)
    assert tg.fine_tuning.retrieve(job.id).status == "completed"
    with pytest.raises(together.BadRequestError, match="Full training is not supported"):  # limits report zeros
        tg.fine_tuning.create(training_file=train, model=LORA_ONLY, lora=False, training_method="dpo")


def test_cancel_is_requested_then_done_and_cannot_be_repeated(tg, admin, tmp_path):
    train = tg.files.upload(file=write(tmp_path, "train.jsonl", chat_rows(10)), purpose="fine-tune").id
    job = tg.fine_tuning.create(training_file=train, model=LLAMA)
    admin.advance(10)
    assert tg.fine_tuning.cancel(job.id).status == "cancel_requested"
    with pytest.raises(together.BadRequestError):
        tg.fine_tuning.cancel(job.id)
    admin.advance(2.5)
    assert tg.fine_tuning.retrieve(job.id).status == "cancelled"
    types = [e.type for e in tg.fine_tuning.list_events(job.id).data]
    assert types[-2:] == ["cancel_requested", "job_stopped"]
    assert admin.state()["core"]["models"] == []


def test_a_failed_job_is_error_and_says_why_in_its_events(tg, admin, tmp_path):
    train = tg.files.upload(file=write(tmp_path, "train.jsonl", chat_rows(10)), purpose="fine-tune").id
    admin.post("/fail-next", {"code": "quota", "message": "no capacity today"})
    job = tg.fine_tuning.create(training_file=train, model=LLAMA)
    admin.advance(5)
    assert tg.fine_tuning.retrieve(job.id).status == "error"
    failure = [e for e in tg.fine_tuning.list_events(job.id).data if e.type == "job_error"]
    assert len(failure) == 1 and "no capacity today" in failure[0].message and failure[0].level == "error"


def _error(response: httpx.Response) -> dict:
    spec.validate("ErrorData", response.json())
    return response.json()["error"]


@pytest.mark.parametrize("change, param", [
    ({"training_file": None}, "training_file"),
    ({"training_file": "file-nope"}, "training_file"),
    ({"model": None}, "model"),
    ({"model": "meta-llama/Llama-2-7b-hf"}, "model"),
    ({"training_method": {"method": "ppo"}}, "training_method.method"),
    ({"training_method": {"method": "sft"}}, "training_method.train_on_inputs"),
    ({"training_type": {"type": "Lora", "lora_alpha": 16}}, "training_type.lora_r"),
    ({"training_type": {"type": "Lora", "lora_r": 128, "lora_alpha": 16}}, "training_type.lora_r"),
    ({"training_type": {"type": "Full"}, "model": LORA_ONLY}, "training_type"),
    ({"batch_size": 4}, "batch_size"),
    ({"batch_size": "big"}, "batch_size"),
    ({"n_epochs": 0}, "n_epochs"),
    ({"learning_rate": "fast"}, "learning_rate"),
    ({"warmup_ratio": 1.5}, "warmup_ratio"),
    ({"suffix": "x" * 41}, "suffix"),
    ({"random_seed": 1.5}, "random_seed"),
    ({"from_checkpoint": "ft-missing"}, "from_checkpoint"),
])
def test_create_refuses_what_together_refuses_with_error_data_naming_the_param(raw, change, param):
    train = raw.post("/files/upload", data={"purpose": "fine-tune", "file_name": "t.jsonl"},
                     files={"file": ("t.jsonl", jsonl(chat_rows(10)))}).json()["id"]
    body = {"training_file": train, "model": LLAMA, "early_stopping_enabled": False, "anything_new": {"x": 1}}
    body.update(change)
    if change.get("from_checkpoint"):
        body.pop("model")
    body = {k: v for k, v in body.items() if v is not None}
    response = raw.post("/fine-tunes", json=body)
    assert response.status_code == 400, response.text
    assert _error(response)["param"] == param
    assert raw.post("/fine-tunes", json={"training_file": train, "model": LLAMA, "anything_new": 1}).status_code == 200


def test_auth_limits_supported_models_and_estimates_have_togethers_shapes(raw, emu, tmp_path):
    assert _error(httpx.get(f"{emu.url}/fine-tunes"))["code"] == "invalid_api_key"
    limits = raw.get("/fine-tunes/models/limits", params={"model_name": LORA_ONLY})
    spec.validate("FineTuneModelLimits", limits.json())
    assert limits.json()["lora_training"]["max_rank"] == 64 and not limits.json()["supports_full_training"]
    missing = raw.get("/fine-tunes/models/limits", params={"model_name": "nope/nope"})
    assert missing.status_code == 404 and "message" in missing.json()
    supported = raw.get("/fine-tunes/models/supported").json()["models"]
    assert LLAMA in supported and LORA_ONLY in supported
    models = raw.get("/models").json()
    spec.validate("ModelInfoList", models)
    assert {m["id"] for m in models} == set(supported)
    rows = chat_rows(10)
    train = raw.post("/files/upload", data={"purpose": "fine-tune", "file_name": "t.jsonl", "file_type": "jsonl"},
                     files={"file": ("t.jsonl", jsonl(rows))}).json()
    spec.validate("FileResponse", train)
    estimate = raw.post("/fine-tunes/estimate-price", json={"training_file": train["id"], "model": LLAMA,
                                                           "n_epochs": 3})
    spec.validate_schema(spec.response_schema("POST", "/v1/fine-tunes/estimate-price"), estimate.json())
    counted = sum(tokens.count_example(r, tokens.get_encoding("cl100k_base")) for r in rows) * 3
    assert estimate.json()["estimated_train_token_count"] == counted
    assert estimate.json()["estimated_total_price"] == pytest.approx(counted * 0.48 / 1e6)


def test_the_status_enum_maps_onto_exactly_one_canonical_state_each():
    """Every status Together's spec declares is in the client's map, in exactly one canonical bucket, and none of
    them is `unknown` (an unknown status would keep a finished job "in flight" for ever)."""
    declared = spec.status_enum()
    assert sorted(STATUS_MAP) == sorted(declared)
    buckets: dict[str, list[str]] = {}
    for status in declared:
        buckets.setdefault(STATUS_MAP[status], []).append(status)
    assert sum(len(v) for v in buckets.values()) == len(declared) and set(buckets) <= set(base.STATES) - {base.UNKNOWN}
    assert buckets == {base.QUEUED: ["pending", "queued"], base.RUNNING: ["running", "compressing", "uploading"],
                       base.CANCELLING: ["cancel_requested"], base.CANCELLED: ["cancelled"],
                       base.FAILED: ["error"], base.SUCCEEDED: ["completed"]}
