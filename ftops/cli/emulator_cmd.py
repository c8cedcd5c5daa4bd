"""`ftops emulator ...` commands: run the local provider's server in the foreground."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Optional

import typer

from ftops.errors import ConfigError

app = typer.Typer(help="Run the built-in fine-tuning emulator (OpenAI, Together, Fireworks or Azure OpenAI API).",
                  no_args_is_help=True)


def _kinds(values: list[str] | None) -> tuple[str, ...] | None:
    kinds = tuple(k.strip() for v in values or [] for k in v.split(",") if k.strip())
    return kinds or None


def _range(text: str) -> tuple[float, float]:
    low, _, high = text.partition("-")
    try:
        return float(low), float(high or low)
    except ValueError:
        raise ConfigError(f"emulator: --latency {text!r} is not a number or a range like 1-2") from None


@app.command()
def serve(
    api: str = typer.Option("openai", "--api", help="The provider API to speak: openai, together, fireworks or "
                                                    "azure (the v1 data plane and ARM deployments)."),
    host: str = typer.Option("127.0.0.1", help="Interface to bind (loopback unless told otherwise)."),
    port: int = typer.Option(0, help="Port; 0 picks a free one."),
    state: Path = typer.Option(Path(".ftops/local"), help="State directory (shared safely between processes)."),
    job_duration: float = typer.Option(3.0, help="Seconds from job creation to success."),
    deploy_duration: float = typer.Option(30.0, help="Seconds a deployment provisions (--api azure)."),
    fault_rate: float = typer.Option(0.0, help="Probability in [0, 1] that a /v1 request gets a fault."),
    fault_kinds: Optional[list[str]] = typer.Option(None, help="Fault kinds, comma-separated or repeated: "
                                                                "429,500,503,drop,slow,drop_after."),
    seed: int = typer.Option(0, help="Seed for fault decisions."),
    api_key: Optional[str] = typer.Option(None, envvar="FTOPS_EMULATOR_API_KEY", show_default=False,
                                          help="Require exactly this bearer key (default: any non-empty key)."),
    training_cutoff: Optional[str] = typer.Option(None, help="Refuse new jobs after this day (YYYY-MM-DD)."),
    latency: str = typer.Option("0", help="Seconds every API request waits before it is handled: a number or a "
                                          "range LOW-HIGH (e.g. 1-2, a provider far away)."),
    create_latency: float = typer.Option(0.0, help="Extra seconds a POST (a create) waits before it is processed "
                                                   "(a provider slower than its clients' timeout)."),
) -> int:
    """Serve until SIGINT/SIGTERM. The first line of output is FTOPS_EMULATOR_URL=<the API's base URL> (for
    openai and together http://HOST:PORT/v1, for fireworks the bare http://HOST:PORT, for azure
    http://HOST:PORT/openai/v1 with the management endpoint at http://HOST:PORT); admin endpoints are under
    http://HOST:PORT/_emulator. With FTOPS_EMULATOR_RECORD set to a directory, every answer is appended to a JSONL
    file there."""
    from ftops.emulator import EmulatorConfig, start

    try:
        config = EmulatorConfig(state_dir=state, api=api, host=host, port=port, job_duration=job_duration,
                                deploy_duration=deploy_duration,
                                fault_rate=fault_rate, fault_kinds=_kinds(fault_kinds), seed=seed,
                                api_key=api_key, training_cutoff=training_cutoff, latency=_range(latency),
                                create_latency=create_latency)
    except ValueError as exc:
        raise ConfigError(f"emulator: {exc}") from None
    try:
        emulator = start(config)
    except OSError as exc:
        raise ConfigError(f"emulator: cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        typer.echo(f"FTOPS_EMULATOR_URL={emulator.url}")
        stop.wait()
    finally:
        emulator.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
