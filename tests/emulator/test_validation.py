"""What the emulator refuses at create time (400 with a useful param) and what fails during validating_files."""

from __future__ import annotations

import json

import openai
import pytest

from ftops.emulator import EmulatorConfig, start

from .support import Admin, chat_rows, jsonl, sdk, upload


def _refused(client, param: str, **kwargs) -> openai.BadRequestError:
    with pytest.raises(openai.BadRequestError) as info:
        client.fine_tuning.jobs.create(**kwargs)
    assert info.value.body["param"] == param, info.value.body
    assert info.value.response.headers["x-request-id"].startswith("req_")
    return info.value


@pytest.mark.parametrize("overrides, param", [
    ({"suffix": ""}, "suffix"),
    ({"suffix": "x" * 65}, "suffix"),
    ({"seed": -1}, "seed"),
    ({"seed": 2147483648}, "seed"),
    ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
    ({"metadata": {"k": "v" * 513}}, "metadata.k"),
    ({"integrations": [{"type": "slack"}]}, "integrations[0]"),
    ({"hyperparameters": {"n_epochs": 51}}, "hyperparameters.n_epochs"),
    ({"method": {"type": "supervised", "supervised": {"hyperparameters": {"batch_size": 0}}}},
     "method.supervised.hyperparameters.batch_size"),
    ({"method": {"type": "supervised", "supervised": {"hyperparameters": {"learning_rate_multiplier": 0}}}},
     "method.supervised.hyperparameters.learning_rate_multiplier"),
    ({"method": {"type": "dpo", "dpo": {"hyperparameters": {"beta": 2.5}}}}, "method.dpo.hyperparameters.beta"),
    ({"method": {"type": "supervised", "supervised": {"hyperparameters": {"beta": 0.1}}}},
     "method.supervised.hyperparameters.beta"),
    ({"method": {"type": "unsupervised"}}, "method.type"),
    ({"method": {"type": "reinforcement", "reinforcement": {"grader": {"type": "python", "name": "g",
                                                                       "source": "def grade(s, i): return 1"}}}},
     "method.type"),  # gpt-4o-mini does not do RFT
    ({"model": "gpt-17"}, "model"),
    ({"model": "gpt-3.5-turbo-0125"}, "model"),  # shut down 2026-10-23
    ({"model": "ft:gpt-4o-mini-2024-07-18:ftops-local::gone1234"}, "model"),
    ({"training_file": "file-doesnotexist"}, "training_file"),
    ({"validation_file": "file-doesnotexist"}, "validation_file"),
])
def test_create_refuses_bad_requests_with_param(client, overrides, param):
    request = {"model": "gpt-4o-mini", "training_file": upload(client, chat_rows(10))}
    _refused(client, param, **{**request, **overrides})


def test_create_refuses_a_file_of_the_wrong_purpose(client):
    batch = client.files.create(file=("b.jsonl", b"{}\n"), purpose="batch").id
    error = _refused(client, "training_file", model="gpt-4o-mini", training_file=batch)
    assert "purpose" in error.body["message"]


def test_reinforcement_needs_a_grader_and_a_model_that_does_rft(tmp_path):
    config = EmulatorConfig(state_dir=tmp_path, shutdown_dates={"o4-mini-2025-04-16": None})
    with start(config) as emu, sdk(emu) as client:
        train = upload(client, [{"messages": [{"role": "user", "content": f"q{i}"}], "answer": str(i)}
                                for i in range(10)])
        _refused(client, "method.reinforcement.grader", model="o4-mini", training_file=train,
                 method={"type": "reinforcement", "reinforcement": {}})
        grader = {"type": "string_check", "name": "exact", "input": "{{sample.output_text}}",
                  "reference": "{{item.answer}}", "operation": "eq"}
        job = client.fine_tuning.jobs.create(model="o4-mini", training_file=train, method={
            "type": "reinforcement", "reinforcement": {"grader": grader}})
        Admin(emu).advance(10)
        done = client.fine_tuning.jobs.retrieve(job.id)
        assert done.status == "succeeded", done.error
        assert done.method.reinforcement.hyperparameters.compute_multiplier == 1.0


def test_training_cutoff_refuses_new_jobs(tmp_path):
    with start(EmulatorConfig(state_dir=tmp_path, training_cutoff="2026-01-06")) as emu, sdk(emu) as client:
        error = _refused(client, None, model="gpt-4o-mini", training_file=upload(client, chat_rows(10)))
        assert "no longer accepted" in error.body["message"]


def _failed_with(client, admin, training: bytes, **kwargs) -> dict:
    train = client.files.create(file=("t.jsonl", training), purpose="fine-tune").id
    job = client.fine_tuning.jobs.create(training_file=train, **{"model": "gpt-4o-mini", **kwargs})
    assert job.status == "validating_files"
    admin.advance(10)
    done = client.fine_tuning.jobs.retrieve(job.id)
    assert done.status == "failed" and done.fine_tuned_model is None
    assert admin.state()["models"] == []
    return done.error.model_dump()


def test_fewer_than_ten_examples_fails_the_job(client, admin):
    error = _failed_with(client, admin, jsonl(chat_rows(9)))
    assert (error["code"], error["param"]) == ("invalid_n_examples", "training_file")
    assert "9 example" in error["message"]


def test_invalid_json_line_is_named(client, admin):
    lines = jsonl(chat_rows(12)).split(b"\n")
    lines[4] = b'{"messages": [oops'
    error = _failed_with(client, admin, b"\n".join(lines))
    assert error["param"] == "training_file" and "line 5" in error["message"]


def test_chat_rows_need_an_assistant_message(client, admin):
    rows = chat_rows(12)
    rows[2]["messages"] = rows[2]["messages"][:2]
    error = _failed_with(client, admin, jsonl(rows))
    assert "line 3" in error["message"] and "assistant" in error["message"]


def test_dpo_needs_preference_rows(client, admin):
    error = _failed_with(client, admin, jsonl(chat_rows(12)), method={"type": "dpo", "dpo": {}})
    assert "preferred_output" in error["message"]


def test_dpo_rows_train(client, admin):
    rows = [{"input": {"messages": [{"role": "user", "content": f"hi {i}"}]},
             "preferred_output": [{"role": "assistant", "content": "hello"}],
             "non_preferred_output": [{"role": "assistant", "content": "go away"}]} for i in range(10)]
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=upload(client, rows),
                                         method={"type": "dpo", "dpo": {"hyperparameters": {"n_epochs": 2}}})
    admin.advance(10)
    done = client.fine_tuning.jobs.retrieve(job.id)
    assert done.status == "succeeded" and done.method.dpo.hyperparameters.beta == 0.1
    assert done.method.dpo.hyperparameters.n_epochs == 2


def test_every_job_carries_top_level_hyperparameters_and_its_methods_own_under_method(client, admin, raw):
    dpo_rows = [{"input": {"messages": [{"role": "user", "content": f"hi {i}"}]},
                 "preferred_output": [{"role": "assistant", "content": "hello"}],
                 "non_preferred_output": [{"role": "assistant", "content": "go away"}]} for i in range(10)]
    dpo = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=upload(client, dpo_rows),
                                         method={"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.2}}})
    supervised = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=upload(client, chat_rows(10)))
    admin.advance(10)
    dpo_body, supervised_body = (raw.get(f"/fine_tuning/jobs/{j.id}").json() for j in (dpo, supervised))
    assert dpo_body["method"]["dpo"]["hyperparameters"]["beta"] == 0.2  # required by the published schema:
    assert set(dpo_body["hyperparameters"]) == {"batch_size", "learning_rate_multiplier", "n_epochs"}
    assert supervised_body["hyperparameters"] == supervised_body["method"]["supervised"]["hyperparameters"]


def test_completion_models_need_prompt_completion_rows(client, admin):
    error = _failed_with(client, admin, jsonl(chat_rows(12)), model="babbage-002")
    assert "prompt" in error["message"]
    rows = [{"prompt": f"p{i} ->", "completion": f" c{i}"} for i in range(10)]
    job = client.fine_tuning.jobs.create(model="babbage-002", training_file=upload(client, rows))
    admin.advance(10)
    assert client.fine_tuning.jobs.retrieve(job.id).status == "succeeded"


def test_an_example_over_the_token_limit_is_truncated_and_billed_at_the_limit(client, admin):
    rows = [{"prompt": "word " * 17000, "completion": "x"}] + [{"prompt": "p", "completion": "c"}] * 10
    job = client.fine_tuning.jobs.create(model="davinci-002", training_file=upload(client, rows))
    admin.advance(10)
    done = client.fine_tuning.jobs.retrieve(job.id)
    assert done.status == "succeeded", done.error
    assert done.trained_tokens == (16384 + 10 * 2) * done.hyperparameters.n_epochs
    warned = [e for e in client.fine_tuning.jobs.list_events(job.id, limit=50).data if e.level == "warn"]
    assert ["truncated" in e.message and "16384" in e.message for e in warned] == [True]


def test_validation_file_sharing_examples_with_training_fails(client, admin):
    rows = chat_rows(12)
    valid = upload(client, rows[:3] + chat_rows(5, tag="v"), "valid.jsonl")
    error = _failed_with(client, admin, jsonl(rows), validation_file=valid)
    assert (error["param"], error["code"]) == ("validation_file", "invalid_validation_file")
    assert "shares 3 example" in error["message"]


def test_fail_next_and_fail_job_admin_controls(client, admin):
    assert admin.post("/fail-next", {"code": "quota", "message": "no capacity", "count": 1}) == {"pending": 1}
    error = _failed_with(client, admin, jsonl(chat_rows(10)))
    assert (error["code"], error["message"]) == ("quota", "no capacity")
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=upload(client, chat_rows(10)))
    assert admin.post(f"/jobs/{job.id}/fail", {"code": "server_error", "message": "boom"})["status"] == "failed"
    admin.advance(10)
    done = client.fine_tuning.jobs.retrieve(job.id)
    assert done.status == "failed" and done.error.message == "boom"
    assert json.loads(admin.http.post(f"/jobs/{job.id}/fail", json={}).text)["error"]["message"]


@pytest.mark.parametrize("bad_line", [
    b'{"messages": [{"role": ["user"], "content": "q"}, {"role": "assistant", "content": "a"}]}',
    b'{"messages": [{"role": {"r": 1}, "content": "q"}, {"role": "assistant", "content": "a"}]}',
    b'{"messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b'{"messages": [{"role": "user", "content": ' + b'{"a":' * 990 + b"1" + b"}" * 990 + b'}, '
    b'{"role": "assistant", "content": "a"}]}',
])
def test_a_training_file_the_checks_cannot_digest_fails_the_job_and_the_server_keeps_working(
        emu, client, admin, bad_line):
    lines = jsonl(chat_rows(12)).split(b"\n")
    lines[3] = bad_line
    error = _failed_with(client, admin, b"\n".join(lines))
    assert (error["code"], error["param"]) == ("invalid_training_file", "training_file")
    assert client.files.list().data and client.models.list().data
    assert client.fine_tuning.jobs.list().data[0].status == "failed"
    with start(EmulatorConfig(state_dir=emu.config.state_dir)) as again, sdk(again) as other:
        assert other.fine_tuning.jobs.list().data[0].status == "failed"


@pytest.mark.parametrize("shared_line", [
    b'{"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"q 4?"},'
    b'{"role":"assistant","content":"answer q 4"}]}',  # compact
    b'{"messages": [{"content": "be brief", "role": "system"}, {"content": "q 4?", "role": "user"}, '
    b'{"content": "answer q 4", "role": "assistant"}]}',  # other key order
    b'  {"messages": [{"role": "system", "content": "be \\u0062rief"}, {"role": "user", "content": "q 4?"}, '
    b'{"role": "assistant", "content": "answer q 4"}]}',  # an escape, leading blanks
    b'{"messages": [{"role": "system", "content": "be brief!"}, {"role": "user", "content": "q 4?"}, '
    b'{"role": "assistant", "content": "answer q 4"}]}',  # not shared
])
def test_the_checker_flags_exactly_the_shared_examples_the_emulator_fails_on(tmp_path, client, admin, shared_line):
    from ftops.dataset import check_overlap
    from tests.dataset.support import check_file

    train_bytes = jsonl(chat_rows(12))
    valid_bytes = jsonl(chat_rows(3, tag="v")) + shared_line + b"\n"
    (tmp_path / "t.jsonl").write_bytes(train_bytes)
    (tmp_path / "v.jsonl").write_bytes(valid_bytes)
    flagged = bool(check_overlap(check_file(tmp_path / "t.jsonl"),
                                 check_file(tmp_path / "v.jsonl", role="validation")))
    valid = client.files.create(file=("v.jsonl", valid_bytes), purpose="fine-tune").id
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=upload(client, chat_rows(12)),
                                         validation_file=valid)
    admin.advance(10)
    assert (client.fine_tuning.jobs.retrieve(job.id).status == "failed") == flagged
    assert flagged == (b"brief!" not in shared_line)
