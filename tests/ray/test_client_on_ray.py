"""ftops's Ray client against the real job server's own answers: a duplicate submission id (500, a plain-text
traceback) shown as the line that says what happened, and taken as adoption by create_job; a bearer token sent
only where trusted configuration binds it."""

from __future__ import annotations

import pytest

from ftops.errors import ProviderError
from ftops.launch import LaunchKey
from ftops.providers.base import TrainingRequest
from ftops.providers.ray.wire import submission_id


def test_a_duplicate_submission_shows_rays_exception_line_not_the_traceback(ray_project):
    client = ray_project.provider("gpu")
    body = {"entrypoint": "true", "submission_id": f"{ray_project.name}-dup"}
    try:
        client.http.json("POST", "api/jobs/", json=body, retry=False)
        with pytest.raises(ProviderError) as caught:
            client.http.json("POST", "api/jobs/", json=body, retry=False)
    finally:
        client.close()
    message = str(caught.value)
    assert caught.value.status == 500 and "Traceback" not in message
    assert f"ValueError: Job with submission_id {ray_project.name}-dup already exists." in message


def test_a_submit_whose_answer_was_lost_is_adopted_when_sent_again(ray_project):
    p = ray_project
    p.dataset("data/a.jsonl", 12)
    key = LaunchKey(p.name, "a", "v2:sha256:" + "cd" * 32)
    client = p.provider("gpu")
    try:
        staged = client.stage_file(p.root / "data/a.jsonl", sha256=_sha(p.root / "data/a.jsonl"), role="training")
        # The first send got through, but its answer (and the key in its metadata) never came back to ftops:
        job_id = submission_id(key, 1)
        client.http.json("POST", "api/jobs/", json={"entrypoint": "sleep 30", "submission_id": job_id}, retry=False)
        job = client.create_job(TrainingRequest(launch=key, base_model="bigram-0", method="supervised",
                                                training_file=staged.id, validation_file=None))
        assert job.id == job_id  # Ray said "already exists": the job is adopted, not an error
        assert [j["submission_id"] for j in p.head.jobs() if j["submission_id"].startswith(f"ftops-{key.id}")] \
            == [job_id]
        client.cancel_job(job_id)
    finally:
        client.close()


def _sha(path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_token_goes_only_where_trusted_configuration_binds_it(ray_project, monkeypatch):
    p = ray_project
    p.dataset("data/a.jsonl", 12)
    p.spec("a")
    p.configure(token_env="RAY_TEST_TOKEN")
    monkeypatch.setenv("RAY_TEST_TOKEN", "not-a-real-token")
    unbound = p.run("plan")
    assert "no trusted configuration binds RAY_TEST_TOKEN" in unbound.all and "not contacted" in unbound.all
    monkeypatch.setenv("FTOPS_CREDENTIALS", f"RAY_TEST_TOKEN={p.head.url}")
    bound = p.run("plan")
    assert bound.rc == 0 and "not contacted" not in bound.all and "provider state refreshed" in bound.out, bound.all
    client = p.provider("gpu")
    try:
        assert client.http._client.headers["authorization"] == "Bearer not-a-real-token"
        assert client.list_jobs(p.name) == []  # a head without token auth ignores the header
    finally:
        client.close()
