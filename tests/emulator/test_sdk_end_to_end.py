"""The official openai SDK drives the emulator end to end; every JSON answer is checked against the spec."""

from __future__ import annotations

import csv
import io

import openai
import pytest

from ftops import cost, tokens

from .support import chat_rows, jsonl, upload


def test_files_upload_list_retrieve_content_delete(client, admin):
    data = jsonl(chat_rows(12))
    created = client.files.create(file=("train.jsonl", data), purpose="fine-tune")
    assert (created.bytes, created.filename, created.purpose) == (len(data), "train.jsonl", "fine-tune")
    assert client.files.retrieve(created.id).id == created.id
    assert client.files.content(created.id).read() == data
    other = upload(client, chat_rows(11), "other.jsonl")
    page = client.files.list(order="asc", limit=1)
    assert [f.id for f in page.data] == [created.id] and page.has_more
    assert [f.id for f in client.files.list(order="asc", limit=1, after=created.id).data] == [other]
    assert [f.id for f in client.files.list()] == [other, created.id]  # newest first by default
    assert client.files.delete(created.id).deleted
    assert [f["id"] for f in admin.state()["files"]] == [other]
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(created.id)


def test_chunked_upload_assembles_parts_in_order(client):
    data = jsonl(chat_rows(30))
    up = client.uploads.upload_file_chunked(file=data, filename="big.jsonl", bytes=len(data),
                                            mime_type="application/jsonl", purpose="fine-tune", part_size=500)
    assert up.status == "completed" and up.file is not None
    assert client.files.content(up.file.id).read() == data
    assert up.file.bytes == len(data) > 500 * 3


def test_job_runs_to_success_with_model_checkpoints_events_and_results(client, admin):
    rows = chat_rows(12)
    train = upload(client, rows)
    valid = upload(client, chat_rows(10, tag="v"), "valid.jsonl")
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=train, validation_file=valid,
                                         suffix="support-bot", seed=7, metadata={"team": "support"})
    assert (job.status, job.seed, job.model) == ("validating_files", 7, "gpt-4o-mini-2024-07-18")
    assert job.fine_tuned_model is None and job.trained_tokens is None
    admin.advance(3.5)
    done = client.fine_tuning.jobs.retrieve(job.id)
    assert done.status == "succeeded" and done.finished_at is not None
    prefix = "ft:gpt-4o-mini-2024-07-18:ftops-local:support-bot:"
    assert done.fine_tuned_model.startswith(prefix) and len(done.fine_tuned_model) == len(prefix) + 8
    enc = tokens.get_encoding("o200k_base")
    epochs = cost.resolve_epochs(12, "auto")
    assert done.trained_tokens == sum(tokens.count_example(r, enc) for r in rows) * epochs
    assert done.hyperparameters.n_epochs == epochs and isinstance(done.hyperparameters.batch_size, int)
    assert isinstance(done.hyperparameters.learning_rate_multiplier, float)

    events = list(client.fine_tuning.jobs.list_events(job.id, limit=100))
    assert events[0].message == "The job has successfully completed"
    assert events[-1].message.startswith("Created fine-tuning job")
    assert [e.created_at for e in events] == sorted((e.created_at for e in events), reverse=True)
    metrics = [e for e in events if e.type == "metrics"]
    assert metrics and {"step", "train_loss", "train_mean_token_accuracy"} <= set(metrics[0].data)
    first_page = client.fine_tuning.jobs.list_events(job.id, limit=3)
    assert first_page.has_more and [e.id for e in first_page.data] == [e.id for e in events[:3]]

    checkpoints = client.fine_tuning.jobs.checkpoints.list(job.id).data
    assert len(checkpoints) == 3
    assert all(c.fine_tuned_model_checkpoint.startswith(done.fine_tuned_model + ":ckpt-step-") for c in checkpoints)
    assert [c.step_number for c in checkpoints] == sorted((c.step_number for c in checkpoints), reverse=True)

    result = client.files.retrieve(done.result_files[0])
    assert result.purpose == "fine-tune-results"
    table = list(csv.reader(io.StringIO(client.files.content(result.id).text)))
    assert table[0] == ["step", "train_loss", "train_accuracy", "valid_loss", "valid_mean_token_accuracy"]
    assert len(table) > 2 and table[1][3] != ""  # validation metrics present: a validation file was given

    model = client.models.retrieve(done.fine_tuned_model)
    assert model.owned_by == "ftops-local" and model.shutdown_date == "2027-01-14"
    assert done.fine_tuned_model in {m.id for m in client.models.list()}


@pytest.mark.parametrize("n_epochs, steps", [(1, [1]), (2, [2, 1]), (3, [3, 2, 1]), (7, [7, 5, 2])])
def test_checkpoints_are_distinct_steps_within_a_short_run(client, admin, n_epochs, steps):
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=upload(client, chat_rows(10)),
                                         hyperparameters={"batch_size": 10, "n_epochs": n_epochs})
    admin.advance(10)
    assert client.fine_tuning.jobs.retrieve(job.id).status == "succeeded"
    assert [c.step_number for c in client.fine_tuning.jobs.checkpoints.list(job.id).data] == steps


def test_list_filters_by_metadata_newest_first(client):
    train = upload(client, chat_rows(10))
    a = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=train, metadata={"team": "a"})
    b = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=train, metadata={"team": "b"})
    c = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=train, metadata={"team": "a"})
    assert [j.id for j in client.fine_tuning.jobs.list(metadata={"team": "a"})] == [c.id, a.id]
    assert [j.id for j in client.fine_tuning.jobs.list()] == [c.id, b.id, a.id]
    page = client.fine_tuning.jobs.list(limit=2)
    assert page.has_more and [j.id for j in page.data] == [c.id, b.id]


def test_pause_resume_cancel_only_in_states_that_allow_them(client, admin):
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=upload(client, chat_rows(10)))
    with pytest.raises(openai.BadRequestError, match="only a running job can be paused"):
        client.fine_tuning.jobs.pause(job.id)
    admin.advance(1.5)
    assert client.fine_tuning.jobs.retrieve(job.id).status == "running"
    assert client.fine_tuning.jobs.pause(job.id).status == "paused"
    admin.advance(100)  # paused time does not count
    assert client.fine_tuning.jobs.retrieve(job.id).status == "paused"
    assert client.fine_tuning.jobs.resume(job.id).status == "running"
    with pytest.raises(openai.BadRequestError, match="only a paused job can be resumed"):
        client.fine_tuning.jobs.resume(job.id)
    assert client.fine_tuning.jobs.cancel(job.id).status == "cancelled"
    admin.advance(100)
    assert client.fine_tuning.jobs.retrieve(job.id).status == "cancelled"
    with pytest.raises(openai.BadRequestError, match="cannot be cancelled"):
        client.fine_tuning.jobs.cancel(job.id)
    assert admin.state()["models"] == []


def test_continue_from_fine_tuned_model_and_delete_models(client, admin):
    train = upload(client, chat_rows(10))
    first = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=train, suffix="v1")
    admin.advance(10)
    parent = client.fine_tuning.jobs.retrieve(first.id).fine_tuned_model
    second = client.fine_tuning.jobs.create(model=parent, training_file=train, suffix="v2")
    assert second.model == parent
    admin.advance(10)
    child = client.fine_tuning.jobs.retrieve(second.id)
    assert child.status == "succeeded"
    assert child.fine_tuned_model.startswith("ft:gpt-4o-mini-2024-07-18:ftops-local:v2:")
    assert client.models.delete(parent).deleted
    assert parent not in {m["id"] for m in admin.state()["models"]}
    with pytest.raises(openai.PermissionDeniedError):
        client.models.delete("gpt-4o-mini-2024-07-18")
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve(parent)


def test_base_models_carry_shutdown_dates_with_overrides(client, admin):
    models = {m.id: m for m in client.models.list()}
    assert models["gpt-4o-mini-2024-07-18"].shutdown_date == "2027-01-14"
    assert models["babbage-002"].shutdown_date is None
    admin.post("/models", {"id": "gpt-4o-mini", "shutdown_date": "2030-01-01"})
    assert client.models.retrieve("gpt-4o-mini-2024-07-18").shutdown_date == "2030-01-01"


def test_a_file_with_expires_after_is_gone_once_it_expires_on_the_emulator_clock(client, admin, raw):
    kept = upload(client, chat_rows(10), "kept.jsonl")
    brief = client.files.create(file=("brief.jsonl", jsonl(chat_rows(11))), purpose="fine-tune",
                                expires_after={"anchor": "created_at", "seconds": 3600})
    assert brief.expires_at == brief.created_at + 3600
    admin.advance(3599)
    assert {f.id for f in client.files.list()} == {kept, brief.id}
    admin.advance(2)
    assert [f.id for f in client.files.list()] == [kept]
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(brief.id)
    assert raw.get(f"/files/{brief.id}/content").status_code == 404
    assert [f["id"] for f in admin.state()["files"]] == [kept]


def test_checkpoint_permissions_are_granted_listed_and_revoked(client, admin):
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=upload(client, chat_rows(12)))
    admin.advance(10)
    model = client.fine_tuning.jobs.retrieve(job.id).fine_tuned_model
    (checkpoint, *_) = client.fine_tuning.jobs.checkpoints.list(job.id).data
    perms = client.fine_tuning.checkpoints.permissions
    granted = perms.create(model, project_ids=["proj_a", "proj_b"]).data
    assert [p.project_id for p in granted] == ["proj_a", "proj_b"]
    assert [p.id for p in perms.create(model, project_ids=["proj_a"]).data] == [granted[0].id]  # not twice
    assert [p.project_id for p in perms.list(model).data] == ["proj_b", "proj_a"]  # newest first
    assert [p.project_id for p in perms.list(model, order="ascending", limit=1).data] == ["proj_a"]
    assert [p.project_id for p in perms.list(model, project_id="proj_b").data] == ["proj_b"]
    assert perms.list(checkpoint.fine_tuned_model_checkpoint).data == []
    assert perms.create(checkpoint.fine_tuned_model_checkpoint, project_ids=["proj_c"]).data[0].project_id == \
        "proj_c"
    deleted = perms.delete(granted[0].id, fine_tuned_model_checkpoint=model)
    assert (deleted.id, deleted.deleted, deleted.object) == (granted[0].id, True, "checkpoint.permission")
    assert [p.project_id for p in perms.list(model).data] == ["proj_b"]
    with pytest.raises(openai.NotFoundError):
        perms.delete(granted[0].id, fine_tuned_model_checkpoint=model)
    with pytest.raises(openai.NotFoundError):
        perms.list("ft:gpt-4o-mini-2024-07-18:nobody:x:abcdefgh")
    with pytest.raises(openai.BadRequestError):
        perms.create(model, project_ids=[])


def test_model_limits_lists_the_models_that_can_be_fine_tuned_now(raw, admin):
    limits = raw.get("/fine_tuning/model_limits").json()
    models = {m["model"]: m for m in limits["data"]}
    assert models["gpt-4o-mini-2024-07-18"]["methods"] == ["supervised", "dpo"]
    assert models["gpt-4o-mini-2024-07-18"]["training_context_tokens"] == 65536
    assert "gpt-3.5-turbo-0125" not in models  # shut down on 2026-10-23
    admin.post("/models", {"id": "gpt-4o-mini-2024-07-18", "shutdown_date": "2020-01-01"})
    assert "gpt-4o-mini-2024-07-18" not in {m["model"] for m in raw.get("/fine_tuning/model_limits").json()["data"]}
