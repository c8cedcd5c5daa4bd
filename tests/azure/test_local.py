"""``type: local, api: azure``: the whole Azure flow offline, in-process (no account, no key, no token): train,
deploy, pin the deployment's name; and ``ftops emulator serve --api azure`` as its own process."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import yaml

from ftops.cli.context import Runtime
from tests.conftest import Project, chat_example, write_jsonl


def test_a_local_azure_provider_trains_deploys_and_pins_the_deployment(tmp_path):
    root = tmp_path / "proj"
    project = Project(root, None)
    project.write("ftops.yaml", yaml.safe_dump({"project": "offline", "default_provider": "rehearsal", "providers": {
        "rehearsal": {"type": "local", "api": "azure", "job_duration": 0.6, "deploy_duration": 0.4}}}))
    write_jsonl(root / "data/a.jsonl", [chat_example(i) for i in range(12)])
    project.write("specs/a.yaml", yaml.safe_dump({"name": "a", "base_model": "gpt-4o-mini-2024-07-18",
                                                  "training_file": "../data/a.jsonl", "deploy": {"name": "bot"}}))
    plan = project.run("plan")
    assert plan.rc == 0 and "then deploys the trained model to deployment bot" in plan.out, plan.all
    applied = project.run("apply", "--auto-approve", "--wait", runtime=Runtime(sleep=time.sleep, poll_interval=0.2))
    assert applied.rc == 0, applied.all
    entry = project.lock()["models"]["a"]
    assert entry["model"].startswith("bot-") and entry["trained_model"].startswith("gpt-4o-mini-2024-07-18.ft-")
    assert entry["deploy"]["state"] == "deployed" and entry["location"] == {"type": "local", "api": "azure-openai"}


def test_emulator_serve_speaks_azure_with_arm_at_its_origin(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "ftops", "emulator", "serve", "--api", "azure", "--state",
                             str(tmp_path / "state"), "--deploy-duration", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        url = proc.stdout.readline().strip().split("=", 1)[1]
        assert url.endswith("/openai/v1")
        origin = url.removesuffix("/openai/v1")
        assert httpx.get(f"{url}/models", headers={"api-key": "k"}).status_code == 200
        arm = (f"{origin}/subscriptions/s/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a/"
               "deployments/base-one")
        made = httpx.put(arm, params={"api-version": "2024-10-21"}, headers={"authorization": "Bearer t"},
                         json={"sku": {"name": "Standard", "capacity": 1},
                               "properties": {"model": {"format": "OpenAI", "name": "gpt-4o-mini-2024-07-18"}}})
        assert made.status_code == 201 and made.json()["properties"]["provisioningState"] == "Creating"
        got = httpx.get(arm, params={"api-version": "2024-10-21"}, headers={"authorization": "Bearer t"})
        assert got.json()["properties"]["provisioningState"] == "Succeeded"  # --deploy-duration 0
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()
