"""Evaluations: use the model, compare it with the base model and the current pin, and gate the apply.

- ``config``: a spec's ``eval:`` block (metrics, comparisons, gate, sampling, budget); ``checks`` and ``legacy``:
  its spec checks, and the migration messages for the legacy API's classification keys;
- ``data``: the held-out examples (the spec's validation file by default) as cases with expected answers;
- ``metrics``: the metrics as pure functions; ``gate``: the rules a candidate must pass;
- ``runner``: calls the models through the provider's ``complete`` verb (concurrently, bounded), computes the
  metrics and the custom command metrics (``custom``), caches results under ``.ftops/eval/``;
- ``planning``: what the plan shows (numbers from the lockfile, the estimated eval cost, held-back candidates);
- ``applygate``: the hook ``ftops apply`` calls after a job succeeds (and after its deploy), before the pin moves;
- ``render``: the table ``ftops eval`` prints and the sections of the plan formats.
"""

from __future__ import annotations

from ftops.errors import FtopsError


class EvalError(FtopsError):
    """An eval could not be run (its data, a model that cannot be called, a custom metric that failed)."""
