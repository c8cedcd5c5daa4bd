"""The plan finds a provider's job by as much of the launch key as that provider carries
(``Capabilities.key_chars``): all 20 characters in OpenAI's job metadata, 8 in Together's suffix. Pure: the plan
is made from an observed provider state, no I/O."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ftops.config import ProviderConfig
from ftops.fingerprint import fingerprint
from ftops.launch import KEY_CHARS, LaunchKey
from ftops.lockfile import Lockfile, LockEntry
from ftops.plan import DatasetFacts, PlanOptions, desired_inputs, make_plan
from ftops.providers import base
from ftops.providers.base import RemoteJob
from ftops.providers.registry import kind
from ftops.refresh import Observed, ProviderView
from ftops.spec import DatasetRef, FineTuneSpec

BASES = {"openai": "gpt-4o-mini-2024-07-18", "together": "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"}


def world(provider_type: str):
    spec = FineTuneSpec(name="a", provider="p", base_model=BASES[provider_type], parent=None,
                        training_file=DatasetRef(Path("/proj/data/a.jsonl"), "data/a.jsonl"), validation_file=None,
                        method={"type": "supervised", "hyperparameters": {}}, suffix="a")
    facts = {"a": {"training_file": DatasetFacts("data/a.jsonl", "ab" * 32, 1000, 12, 400)}}
    opts = PlanOptions(today=dt.date(2026, 12, 1), project="proj",
                       providers={"p": ProviderConfig("p", provider_type, {"base_url": "https://example.invalid/v1"})})
    key = LaunchKey("proj", "a", fingerprint(desired_inputs(spec, facts["a"], None, opts)))
    return spec, facts, opts, key


def observed(*jobs: RemoteJob) -> Observed:
    return Observed(refreshed=True, views={"p": ProviderView(jobs={j.id: j for j in jobs},
                                                             by_key={j.launch_key: j for j in jobs})})


@pytest.mark.parametrize("provider_type, chars", [("openai", KEY_CHARS), ("together", 8)])
def test_a_job_carrying_the_providers_share_of_the_key_is_adopted_and_the_pin_checks_out(provider_type, chars):
    spec, facts, opts, key = world(provider_type)
    assert kind(provider_type).capabilities.key_chars == chars
    running = RemoteJob(id="job-1", state=base.RUNNING, raw_status="running", model=spec.base_model,
                        launch_key=key.carried(chars))
    plan = make_plan([spec], Lockfile(), observed(running), facts, opts)
    assert [(a.kind, a.job_id) for a in plan.actions] == [("adopt", "job-1")]

    done = RemoteJob(id="job-1", state=base.SUCCEEDED, raw_status="done", model=spec.base_model,
                     fine_tuned_model="m-1", launch_key=key.carried(chars))
    pinned = Lockfile({"a": LockEntry(name="a", provider="p", model="m-1", fingerprint=key.fingerprint,
                                      inputs=desired_inputs(spec, facts["a"], None, opts), job={"id": "job-1"})})
    assert make_plan([spec], pinned, observed(done), facts, opts).actions == ()  # no "repair": the key matches


def test_a_job_carrying_another_key_is_neither_adopted_nor_accepted_as_the_pins_job():
    spec, facts, opts, key = world("together")
    other = LaunchKey("proj", "a", "v2:sha256:" + "0" * 64).carried(8)
    stranger = RemoteJob(id="job-9", state=base.SUCCEEDED, raw_status="completed", model=spec.base_model,
                         fine_tuned_model="m-9", launch_key=other)
    assert [a.kind for a in make_plan([spec], Lockfile(), observed(stranger), facts, opts).actions] == ["create"]
    pinned = Lockfile({"a": LockEntry(name="a", provider="p", model="m-9", fingerprint=key.fingerprint,
                                      inputs=desired_inputs(spec, facts["a"], None, opts), job={"id": "job-9"})})
    kinds = [a.kind for a in make_plan([spec], pinned, observed(stranger), facts, opts).actions]
    assert kinds[0] == "repair"
