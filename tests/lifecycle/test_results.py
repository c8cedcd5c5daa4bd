"""ftops results: the summary, the curve, CSV / JSON, a PNG loss curve, the checkpoints and a pinned checkpoint;
the final metrics recorded by apply; W&B (offline) and MLflow (file store) runs read back."""

from __future__ import annotations

import csv
import io
import json
import struct
import time

import pytest

from tests.conftest import TEST_KEY


def trained(world, name: str = "a", **fields):
    world.dataset(f"data/{name}.jsonl", 24)
    world.dataset(f"data/{name}-valid.jsonl", 6, start=100)
    world.spec(name, validation_file=f"../data/{name}-valid.jsonl", **fields)
    applied = world.run("apply", "--auto-approve", "--wait")
    assert applied.rc == 0, applied.all
    return world.lock()["models"][name]


def emulator_job(world, job_id: str) -> dict:
    return next(j for j in world.admin("GET", "state")["jobs"] if j.get("id", j.get("name")) == job_id)


@pytest.mark.parametrize("world", ["openai", "together"], indirect=True)
def test_results_shows_the_summary_and_the_curve_and_apply_recorded_the_final_metrics(world):
    entry = trained(world)

    shown = world.run("results", "a")

    assert shown.rc == 0, shown.all
    for label in ("training loss", "validation loss", "steps", "trained tokens", "time"):
        assert label in shown.out, shown.out
    assert "* training loss   o validation loss" in shown.out  # the terminal curve's legend
    metrics = entry["metrics"]
    as_json = json.loads(world.run("results", "a", "--json").out)
    assert as_json["summary"]["steps"] == metrics["steps"] == as_json["metrics"][-1]["step"]
    assert metrics["valid_loss"] == as_json["summary"]["valid_loss"]
    assert metrics["best_valid_loss"] <= metrics["valid_loss"]


def test_results_csv_has_every_step_of_the_result_file(openai_world):
    world = openai_world
    entry = trained(world)
    job = emulator_job(world, entry["job"]["id"])
    import httpx

    content = httpx.get(f"{world.emu.url}/files/{job['result_files'][0]}/content",
                        headers={"Authorization": f"Bearer {TEST_KEY}"}).text

    out = world.run("results", "a", "--csv")

    assert out.rc == 0, out.all
    rows = list(csv.DictReader(io.StringIO(out.out)))
    expected = list(csv.DictReader(io.StringIO(content)))
    assert [int(r["step"]) for r in rows] == [int(r["step"]) for r in expected]
    assert [float(r["train_loss"]) for r in rows] == [float(r["train_loss"]) for r in expected]
    assert list(rows[0]) == ["step", "train_loss", "train_accuracy", "valid_loss", "valid_accuracy"]


def test_results_on_a_provider_without_metrics_says_so(tmp_path):
    from tests.lifecycle.conftest import make_world

    world, emu = make_world(tmp_path, "fireworks")
    try:
        world.dataset("data/a.jsonl", 12)
        world.spec("a")
        assert world.run("apply", "--auto-approve", "--wait").rc == 0
        assert "metrics" not in world.lock()["models"]["a"]  # nothing invented

        shown = world.run("results", "a")

        assert shown.rc == 1
        assert "does not give a job's training metrics through its API" in shown.err
    finally:
        emu.stop()


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_plot_writes_a_png_loss_curve(openai_world):
    world = openai_world
    trained(world)

    out = world.run("results", "a", "--plot", "loss.png")

    assert out.rc == 0, out.all
    data = (world.root / "loss.png").read_bytes()
    assert len(data) > 5_000
    assert png_size(data) == (800, 450)
    assert "wrote loss.png (800x450 PNG)" in out.out


def test_plot_without_matplotlib_says_what_to_install(openai_world, monkeypatch):
    import builtins

    world = openai_world
    trained(world)
    real = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    out = world.run("results", "a", "--plot", "loss.png")

    assert out.rc == 1
    assert "pip install 'ftops[plot]'" in out.err
    assert not (world.root / "loss.png").exists()


def test_results_lists_the_checkpoints_and_a_spec_can_pin_the_best_one(openai_world):
    world = openai_world
    entry = trained(world, pin="best_valid_loss")
    job = emulator_job(world, entry["job"]["id"])
    best = min(job_checkpoints(world, job["id"]), key=lambda c: (c["metrics"]["valid_loss"], -c["step_number"]))

    assert entry["model"] == best["fine_tuned_model_checkpoint"]
    assert entry["checkpoint"]["step"] == best["step_number"]
    assert entry["checkpoint"]["final_model"] == job["fine_tuned_model"]
    shown = world.run("results", "a")
    assert f"{best['fine_tuned_model_checkpoint']}  (pinned)" in shown.out, shown.out
    assert world.run("plan", "--detailed-exitcode").rc == 0  # the pin is not drift, not a repair


def job_checkpoints(world, job_id: str) -> list[dict]:
    import httpx

    return httpx.get(f"{world.emu.url}/fine_tuning/jobs/{job_id}/checkpoints",
                     headers={"Authorization": f"Bearer {TEST_KEY}"}).json()["data"]


def test_changing_pin_repins_from_the_same_job_without_training(openai_world):
    world = openai_world
    entry = trained(world)
    first = job_checkpoints(world, entry["job"]["id"])[-1]  # the oldest checkpoint (the list is newest first)
    world.spec("a", validation_file="../data/a-valid.jsonl", pin={"step": first["step_number"]})

    plan = world.run("plan")
    applied = world.run("apply", "--auto-approve")

    assert f"pin: final -> step {first['step_number']}; apply re-pins from job {entry['job']['id']} (no training)" \
        in plan.out, plan.out
    assert applied.rc == 0, applied.all
    after = world.lock()["models"]["a"]
    assert after["model"] == first["fine_tuned_model_checkpoint"]
    assert after["fingerprint"] == entry["fingerprint"]
    assert len(world.core()["jobs"]) == 1
    world.spec("a", validation_file="../data/a-valid.jsonl")  # back to the final model
    assert world.run("apply", "--auto-approve").rc == 0
    assert world.lock()["models"]["a"]["model"] == entry["model"]


def test_pin_on_a_provider_without_checkpoint_models_is_a_spec_error(tmp_path):
    from tests.lifecycle.conftest import make_world

    world, emu = make_world(tmp_path, "together")
    try:
        world.dataset("data/a.jsonl", 12)
        world.spec("a", pin="best_valid_loss")
        result = world.run("validate")
        assert result.rc == 1
        assert "does not serve a job's checkpoints as models" in result.err
    finally:
        emu.stop()


# -- tracking --------------------------------------------------------------------------------------------------
def wandb_records(run_file):
    """The records of an offline W&B run file (wandb 0.31's LevelDB-style log of protobuf Records; W&B has no
    public reader for it offline: shared/reference/tracking-offline.md)."""
    from wandb.proto import wandb_internal_pb2 as pb

    block, data = 32 * 1024, run_file.read_bytes()
    assert data[:4] == b":W&B"
    pos, partial = 7, b""
    while pos + 7 <= len(data):
        left = block - pos % block
        if left < 7:
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        if length == 0 and kind == 0:
            pos += left
            continue
        chunk, pos = data[pos + 7:pos + 7 + length], pos + 7 + length
        if kind in (1, 4):
            record = pb.Record()
            record.ParseFromString(partial + chunk if kind == 4 else chunk)
            partial = b""
            yield record
        else:
            partial = (partial if kind == 3 else b"") + chunk


def _closed(run_file) -> bool:
    try:
        return any(r.WhichOneof("record_type") == "exit" for r in wandb_records(run_file))
    except Exception:  # noqa: BLE001 - a record still being written
        return False


def read_wandb_run(root):
    (run_file,) = root.rglob("offline-run-*/run-*.wandb")  # exactly one run: this test's own
    # wandb's own process writes the file after run.finish() returns: wait for its closing `exit` record
    deadline = time.monotonic() + 60
    while not _closed(run_file):
        assert time.monotonic() < deadline, "the W&B run file never got its exit record"
        time.sleep(0.2)
    config, history = {}, {}

    def values(items) -> dict:  # an item names its key in `key` or, as wandb 0.31 writes history, `nested_key`
        return {i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in items}

    for record in wandb_records(run_file):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            config.update(values(record.run.config.update))
        elif kind == "config":
            config.update(values(record.config.update))
        elif kind == "history":
            items = values(record.history.item)
            history[items.get("_step", record.history.step.num)] = items
    return config, history


def test_results_to_wandb_offline_logs_the_config_and_every_step(openai_world, offline_tracking):
    world = openai_world
    trained(world, method={"type": "supervised", "hyperparameters": {"n_epochs": 2}},
            integrations=[{"type": "wandb", "wandb": {"project": "support"}}])
    rows = json.loads(world.run("results", "a", "--json").out)["metrics"]

    out = world.run("results", "a", "--to", "wandb")

    assert out.rc == 0, out.all
    assert "W&B offline run" in out.out
    config, history = read_wandb_run(offline_tracking / "wandb-dir")
    assert config["base_model"] == "gpt-4o-mini-2024-07-18" and config["n_epochs"] == 2
    assert config["training_file"]["path"] == "data/a.jsonl" and config["provider"] == "p"
    assert sorted(history) == [r["step"] for r in rows]
    assert all(history[r["step"]]["train_loss"] == r["train_loss"] for r in rows)


def test_results_to_mlflow_logs_to_a_local_file_store(openai_world, offline_tracking):
    world = openai_world
    trained(world)
    rows = json.loads(world.run("results", "a", "--json").out)["metrics"]

    out = world.run("results", "a", "--to", "mlflow")

    assert out.rc == 0, out.all
    (metric_file,) = (offline_tracking / "mlruns").glob("*/*/metrics/train_loss")
    points = [line.split() for line in metric_file.read_text().splitlines()]  # "<unix ms> <value> <step>"
    assert [int(p[2]) for p in points] == [r["step"] for r in rows]
    params = metric_file.parent.parent / "params"
    assert (params / "base_model").read_text() == "gpt-4o-mini-2024-07-18"


def test_to_wandb_without_wandb_says_what_to_install(openai_world, monkeypatch):
    import builtins

    world = openai_world
    trained(world)
    real = builtins.__import__

    def no_wandb(name, *args, **kwargs):
        if name == "wandb" or name.startswith("wandb."):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_wandb)
    out = world.run("results", "a", "--to", "wandb")
    assert out.rc == 1 and "pip install 'ftops[wandb]'" in out.err
