"""The ``local`` provider's server: OpenAI's fine-tuning API on loopback, with state on disk.

Python API::

    from ftops.emulator import EmulatorConfig, start
    with start(EmulatorConfig(state_dir=tmp)) as emu:   # serving in a daemon thread, already listening
        emu.url         # "http://127.0.0.1:PORT/v1" (give it to the openai SDK as base_url)
        emu.admin_url   # "http://127.0.0.1:PORT/_emulator"

CLI: ``ftops emulator serve`` prints ``FTOPS_EMULATOR_URL=http://HOST:PORT/v1`` first, then serves until
SIGINT/SIGTERM. ``EmulatorConfig(api="fireworks")`` (``serve --api fireworks``) speaks Fireworks' control plane
instead, at the bare origin ``http://HOST:PORT`` (``ftops/emulator/dialects/fireworks``).

Under ``/v1``: files (``expires_after`` honoured: an expired file is gone), uploads, fine_tuning/jobs (+ cancel,
pause, resume, events, checkpoints), checkpoint permissions, ``fine_tuning/model_limits`` and models, with
OpenAI's shapes, validation and error envelopes; Bearer auth (any non-empty key, or exactly ``api_key``). Job status is derived from the emulator clock, so state survives restarts and can be shared by
several processes on one ``state_dir``.

Admin endpoints (no auth, never faulted), for tests and rehearsals:

- ``GET|POST /_emulator/clock`` body ``{"advance": seconds}`` -> ``{"now": unix}``: move the shared clock forward.
- ``GET /_emulator/state`` -> ``{now, files, uploads, jobs, models, model_overrides, fail_next}`` as of now.
- ``GET|POST /_emulator/faults`` body ``{"rate", "kinds", "seed"}`` -> the fault settings and the number of
  /v1 requests counted so far (this server only; setting them restarts the count). Kinds: 429, 500, 503, drop, slow, drop_after.
- ``POST /_emulator/jobs/{id}/fail`` body ``{"code", "message"}`` -> the job, now ``failed`` with that error.
- ``POST /_emulator/models`` body ``{"id", "shutdown_date"}`` -> the base model with its new date (null clears).
- ``POST /_emulator/fail-next`` body ``{"code", "message", "count"}`` -> ``{"pending": n}``: the next ``count``
  jobs created fail during ``validating_files`` with that error.
- ``POST /_emulator/models/{id}/degrade`` body ``{"strength": 0..1}`` -> the fine-tuned model answers that share of
  prompts with its runner-up answer (a model worse than its parent, for eval gates); ``POST
  /_emulator/jobs/{id}/degrade`` does it to the model a job is still training.

Inference (``/v1/chat/completions`` and ``/v1/completions``; each dialect's own paths) is answered by the neutral
core, ``ftops.emulator.inference``: a base model gives a fixed generic answer, a fine-tuned model the completion of
its most similar training example, with log probabilities from the similarity scores.
"""

from __future__ import annotations

from ftops.emulator.config import FAULT_KINDS, EmulatorConfig
from ftops.emulator.running import Emulator, start

__all__ = ["FAULT_KINDS", "Emulator", "EmulatorConfig", "start"]
