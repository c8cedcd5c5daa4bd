"""ftops's launcher: the entrypoint of every Ray job ftops submits (``python ftops_ray_launch.py``).

It runs on the cluster, with the Python standard library only. It reads the run from the FTOPS_RUN environment
variable (JSON, written by ftops), finds the dataset packages Ray unpacked (runtime_env.py_modules, on
PYTHONPATH), fills the trainer command's placeholders ({training_file}, {validation_file}, {output_dir},
{base_model}, {hyperparameters_json}; also exported as FTOPS_TRAINING_FILE, FTOPS_VALIDATION_FILE,
FTOPS_OUTPUT_DIR, FTOPS_BASE_MODEL, FTOPS_HYPERPARAMETERS), runs it, and prints every line the trainer appends to
``<output_dir>/metrics.jsonl`` to stdout as ``FTOPS_METRICS <line>`` (ftops reads them back from the job's log,
whatever the artifact store). When the trainer succeeds, the model is published where ftops pins it:

* ``file:///dir``: the trainer writes into ``<artifact>.partial-<submission id>``, renamed to the artifact path
  once it succeeded (the directory never exists half-written);
* ``s3://`` / ``gs://`` (fsspec with s3fs / gcsfs) and ``hf://ORG/REPO`` (huggingface_hub): the trainer writes
  into a local directory, which is uploaded afterwards with the cluster's own credentials.
"""

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

PLACEHOLDER = re.compile(r"\{(training_file|validation_file|output_dir|base_model|hyperparameters_json)\}")


def say(message):
    print(f"ftops: {message}", flush=True)


def package_dir(name):
    """Where Ray unpacked a py_modules package: the PYTHONPATH entry named after it."""
    stem = name[:-len(".zip")] if name.endswith(".zip") else name
    for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep):
        if entry and os.path.basename(os.path.normpath(entry)) == stem:
            return entry
    raise SystemExit(f"ftops: the dataset package {name} is not on this worker (not on PYTHONPATH)")


class MetricsTail(threading.Thread):
    """Prints each complete line appended to metrics.jsonl, prefixed, as it appears."""

    def __init__(self, path, prefix):
        super().__init__(daemon=True)
        self.path, self.prefix = path, prefix
        self.offset, self.pending = 0, b""
        self.done = threading.Event()

    def poll(self):
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                data = fh.read()
        except OSError:
            return
        self.offset += len(data)
        lines = (self.pending + data).split(b"\n")
        self.pending = lines.pop()
        for line in lines:
            if line.strip():
                print(self.prefix + line.decode("utf-8", "replace").strip(), flush=True)

    def run(self):
        while not self.done.wait(0.5):
            self.poll()

    def finish(self):
        self.done.set()
        self.join(timeout=5)
        self.poll()
        if self.pending.strip():
            print(self.prefix + self.pending.decode("utf-8", "replace").strip(), flush=True)
            self.pending = b""


def local_path(uri):
    return uri[len("file://"):] if uri.startswith("file://") else uri


def publish(work, output):
    """Put the finished model where ftops pins it."""
    if output.startswith("file://"):
        final = local_path(output)
        if os.path.exists(final):
            shutil.rmtree(final)
        os.replace(work, final)
        return
    scheme = output.split("://", 1)[0]
    if scheme == "hf":
        from huggingface_hub import HfApi

        org, repo, *rest = output[len("hf://"):].split("/")
        HfApi().upload_folder(repo_id=f"{org}/{repo}", folder_path=work, path_in_repo="/".join(rest),
                              commit_message=f"ftops: {'/'.join(rest)}")
        return
    import fsspec

    fsspec.filesystem(scheme).put(work.rstrip("/") + "/", output.rstrip("/") + "/", recursive=True)


def main():
    run = json.loads(os.environ["FTOPS_RUN"])
    files = {role: os.path.join(package_dir(name), run["data_file"]) if name else ""
             for role, name in run["data"].items()}
    output = run["output"]
    if output.startswith("file://"):
        final = local_path(output)
        os.makedirs(os.path.dirname(final), exist_ok=True)
        work = f"{final}.partial-{run['submission_id']}"
        if os.path.exists(work):
            shutil.rmtree(work)
        os.makedirs(work)
    else:
        work = tempfile.mkdtemp(prefix="ftops-output-")
    base_model = run["base_model"] or ""
    values = {"training_file": files.get("training_file", ""), "validation_file": files.get("validation_file", ""),
              "output_dir": work, "base_model": local_path(base_model),
              "hyperparameters_json": json.dumps(run["hyperparameters"], sort_keys=True)}
    command = PLACEHOLDER.sub(lambda m: shlex.quote(values[m.group(1)]), run["command"])
    env = dict(os.environ, FTOPS_TRAINING_FILE=values["training_file"],
               FTOPS_VALIDATION_FILE=values["validation_file"], FTOPS_OUTPUT_DIR=work,
               FTOPS_BASE_MODEL=values["base_model"], FTOPS_HYPERPARAMETERS=values["hyperparameters_json"],
               FTOPS_METHOD=run["method"], FTOPS_TRAINING_TYPE=run.get("training_type") or "",
               FTOPS_SEED="" if run.get("seed") is None else str(run["seed"]))
    if run.get("trl") is not None:
        env["FTOPS_TRL_CONFIG"] = json.dumps(run["trl"], sort_keys=True)
    say(f"running the trainer: {command}")
    tail = MetricsTail(os.path.join(work, "metrics.jsonl"), run["metrics_prefix"])
    tail.start()
    child = subprocess.Popen(command, shell=True, env=env)

    stopped = []

    def stop(signum, frame):  # Ray stops a job with SIGTERM (to every process of the job, within 3 s)
        stopped.append(signum)  # the main thread, back from child.wait(), removes the partial model
        child.terminate()

    signal.signal(signal.SIGTERM, stop)
    started = time.time()
    code = child.wait()
    tail.finish()
    if stopped:
        shutil.rmtree(work, ignore_errors=True)
        say("stopped")
        sys.exit(128 + stopped[0])
    if code != 0:
        shutil.rmtree(work, ignore_errors=True)
        say(f"the trainer exited with code {code} after {time.time() - started:.1f}s")
        sys.exit(code if 0 < code < 256 else 1)
    if not [n for n in os.listdir(work) if n != "metrics.jsonl"]:
        shutil.rmtree(work, ignore_errors=True)
        print("RuntimeError: the trainer exited 0 but wrote no model into {output_dir}", flush=True)
        sys.exit(1)
    publish(work, output)
    say(f"model written to {output}")


if __name__ == "__main__":
    main()
