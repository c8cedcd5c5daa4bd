"""The provider seam: the canonical shapes every provider returns, what a provider type declares about itself
(``Capabilities``), what ftops asks it to train (``TrainingRequest``), and the I/O interface (``Provider``).

The core (spec, fingerprint, plan, apply, lockfile) speaks only these shapes. Provider statuses are open strings:
each provider maps its own to the canonical states below and keeps the raw string for display; a status it does
not know maps to ``unknown``, which the core treats as in flight (never as finished, never as a reason to start
another job).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Protocol, runtime_checkable

from ftops.launch import KEY_CHARS

if TYPE_CHECKING:
    from ftops.launch import LaunchKey
    from ftops.providers.inference import Completion, CompletionRequest

QUEUED = "queued"
RUNNING = "running"
PAUSED = "paused"
CANCELLING = "cancelling"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"
UNKNOWN = "unknown"
STATES = (QUEUED, RUNNING, PAUSED, CANCELLING, SUCCEEDED, FAILED, CANCELLED, UNKNOWN)
TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELLED})
IN_FLIGHT = frozenset({QUEUED, RUNNING, PAUSED, CANCELLING, UNKNOWN})

# Optional verbs a provider type may offer (``Capabilities.verbs``); the core asks before using one. The I/O of
# each is below: cancel_job and delete_model on Provider; pause_job, resume_job, list_checkpoints, results and
# job_of_model on their own Protocols (Pauses, Resumes, HasCheckpoints, HasMetrics, Imports); deploy on Deploys,
# undeploy on Undeploys, complete on Completes.
# "checkpoint_models": its checkpoints are models that can be called (a spec may pin one, ``pin:``).
VERBS = ("cancel", "pause", "resume", "events", "checkpoints", "metrics", "delete_model", "deploy", "undeploy",
         "checkpoint_models", "import", "complete")
# Training metrics in ftops's neutral names (``MetricRow.values``); a provider maps its own columns to these.
METRICS = ("train_loss", "train_accuracy", "valid_loss", "valid_accuracy", "full_valid_loss",
           "full_valid_accuracy", "learning_rate", "epoch")

# States of a deploy step (``Deployment.state``): a trained model is callable only once it is ``deployed``.
DEPLOYING = "deploying"
DEPLOYED = "deployed"
DEPLOY_STATES = (DEPLOYING, DEPLOYED, FAILED, UNKNOWN)


@dataclass(frozen=True)
class RemoteFile:
    """A dataset staged on the provider: a file id, a dataset resource name or a package URI."""

    id: str
    bytes: int
    filename: str
    created_at: int | None = None
    reused: bool = False  # it was already there (content-addressed), nothing was uploaded


@dataclass(frozen=True)
class JobError:
    code: str | None
    message: str
    param: str | None = None


@dataclass(frozen=True)
class RemoteJob:
    id: str
    state: str  # canonical, one of STATES
    raw_status: str
    model: str  # the base model the job trains from, as the provider reports it
    fine_tuned_model: str | None = None  # what the job produced (the provider's id of the trained model)
    trained_tokens: int | None = None
    created_at: int | None = None
    finished_at: int | None = None
    estimated_finish: int | None = None
    error: JobError | None = None
    # ftops's launch key id, read back from wherever the provider carries it (its first Capabilities.key_chars chars)
    launch_key: str | None = None
    spec: str | None = None  # the spec and fingerprint, where the provider carries them (job metadata)
    fingerprint: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    hyperparameters: dict[str, Any] = field(default_factory=dict)  # as the provider resolved them
    training_file: str | None = None
    validation_file: str | None = None
    suffix: str | None = None
    seed: int | None = None
    # What serving the trained model needs besides its name, as the provider knows it (for a self-hosted
    # trainer: the base model and the adapter type); recorded in the lockfile entry's ``location``.
    location: dict[str, str] = field(default_factory=dict)
    method: str | None = None  # supervised | dpo | reinforcement, where the provider says (ftops import compares it)


@dataclass(frozen=True)
class RemoteModel:
    id: str
    owned_by: str | None = None
    created: int | None = None
    shutdown_date: str | None = None  # YYYY-MM-DD


@dataclass(frozen=True)
class Deployment:
    """A trained model made callable by a provider's deploy step (``Provider.deploy``)."""

    id: str | None  # the provider's record of the deploy (None when it has none)
    model: str  # the name applications call once it is deployed
    state: str  # canonical, one of DEPLOY_STATES
    raw_status: str
    message: str | None = None  # why it failed, where the provider says


@dataclass(frozen=True)
class RemoteEvent:
    id: str
    created_at: int
    level: str
    message: str
    type: str | None = None
    data: dict[str, Any] | None = None


@dataclass(frozen=True)
class MetricRow:
    """One step of a training run's metrics, in the neutral names of ``METRICS`` (what the provider gives)."""

    step: int
    values: dict[str, float]
    time: int | None = None  # unix seconds, where known


@dataclass(frozen=True)
class RemoteCheckpoint:
    """A checkpoint a job kept: its step, its metrics there (neutral names) and, where the provider serves
    checkpoints as models ("checkpoint_models"), the model name to call."""

    id: str
    step: int
    created_at: int | None = None
    model: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Marker:
    """A small object on the provider that ftops uses to coordinate applies across machines (see lease.py)."""

    id: str
    name: str
    created_at: int


@dataclass(frozen=True)
class TrainingRequest:
    """What ftops asks a provider to train, in the neutral vocabulary. ``hyperparameters`` holds only what the
    spec declared (an omitted value or "auto" is absent: the provider picks); ``options`` is the spec's
    ``provider_options`` for this provider type, passed through untouched."""

    launch: LaunchKey
    base_model: str
    method: str  # supervised | dpo | reinforcement
    training_file: str  # staged file id / dataset name
    validation_file: str | None
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    training_type: str | None = None  # lora | full | None (the provider's default)
    seed: int | None = None
    suffix: str | None = None
    grader: dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    integrations: tuple[dict[str, Any], ...] = ()
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    """What a provider accepts for one neutral hyperparameter: ``kind`` int | number | enum, inclusive bounds
    (``low_open`` / ``high_open`` make a bound exclusive), ``choices`` (the enum's values, or the only numbers allowed,
    e.g. LoRA ranks that must be powers of two), and the provider's own name for it (for messages)."""

    kind: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str | int, ...] = ()
    wire: str | None = None

    def describe(self) -> str:
        if self.kind == "enum":
            return "one of " + ", ".join(map(str, self.choices))
        if self.choices:
            return ("an integer" if self.kind == "int" else "a number") + ", one of " + \
                ", ".join(map(str, self.choices))
        what = "an integer" if self.kind == "int" else "a number"
        bounds = []
        if self.low is not None:
            bounds.append(f"{'>' if self.low_open else '>='} {_num(self.low)}")
        if self.high is not None:
            bounds.append(f"{'<' if self.high_open else '<='} {_num(self.high)}")
        return what + (f" {' and '.join(bounds)}" if bounds else "")

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not acceptable, or None."""
        if self.kind == "enum":
            return None if value in self.choices else f"expected {self.describe()}"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"expected {self.describe()}"
        if self.kind == "int" and not float(value).is_integer():
            return f"expected {self.describe()}"
        if self.choices:
            return None if value in self.choices else f"{_num(value)} is not allowed; expected {self.describe()}"
        too_low = self.low is not None and (value <= self.low if self.low_open else value < self.low)
        too_high = self.high is not None and (value >= self.high if self.high_open else value > self.high)
        if too_low or too_high:
            return f"{_num(value)} is out of range; expected {self.describe()}"
        return None


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))


@dataclass(frozen=True)
class SuffixRule:
    max_length: int = 64
    charset: str | None = None  # a regex character class body, e.g. "A-Za-z0-9_-"
    normalise_spaces: bool = False  # spaces become "-" (visibly, in the plan), as the legacy tools did
    reserved: int = 0  # characters of max_length the provider type appends itself (a launch key tail)

    def sent(self, suffix: str) -> str:
        """The suffix as the provider gets it (before any launch key tail)."""
        return "-".join(suffix.split()) if self.normalise_spaces else suffix


@dataclass(frozen=True)
class Capabilities:
    """What a provider type accepts and offers, known without contacting it (the plan checks specs against it).
    Everything not listed is unsupported."""

    methods: tuple[str, ...] = ("supervised",)
    training_types: tuple[str, ...] = ()  # selectable with method.training_type; () means the provider decides
    hyperparameters: dict[str, dict[str, Rule]] = field(default_factory=dict)  # method -> neutral name -> rule
    suffix: SuffixRule = SuffixRule()
    verbs: frozenset[str] = frozenset()
    idempotency: str = "lookup"  # "native": a create with the same launch key cannot make a second job
    needs_deploy: bool = False  # the trained model must be deployed before it can be called (see "deploy" verb)
    seed: bool = True
    integrations: tuple[str, ...] = ()  # integration types passed through natively (e.g. "wandb")
    min_examples: int = 10
    default_epochs: str = "auto"  # "auto": OpenAI's heuristic; or the provider's fixed default as a string
    # How many leading characters of the launch key id the provider carries (and reads back into
    # RemoteJob.launch_key): all of them where it has room (job metadata), fewer where the key must fit in a short
    # visible name (a suffix tail). The core compares ``LaunchKey.carried(key_chars)`` with RemoteJob.launch_key.
    key_chars: int = KEY_CHARS

    def accepts(self, method: str, name: str) -> Rule | None:
        return self.hyperparameters.get(method, {}).get(name)


class Provider(Protocol):
    """A fine-tuning service, opened from its ftops.yaml entry. Every method translates the provider's errors into
    ``ftops.errors.ProviderError`` (with its message and request id) and redacts secrets first.

    Contracts: ``stage_file`` and ``create_job`` never create a second object for the same content / launch key,
    also after an ambiguous failure (they look before sending again); ``cancel_job`` and ``delete_model`` treat
    "already done" as done; reads never change anything on the provider."""

    name: str  # the provider's key in ftops.yaml
    type: str  # the provider type (registry key)
    capabilities: Capabilities

    def stage_file(self, path: Path, *, sha256: str, role: str, fmt: str) -> RemoteFile: ...
    def file_exists(self, file_id: str) -> bool: ...
    def find_jobs(self, key: LaunchKey) -> list[RemoteJob]: ...
    def create_job(self, request: TrainingRequest) -> RemoteJob: ...
    def get_job(self, job_id: str) -> RemoteJob: ...
    def list_jobs(self, project: str, *, limit: int = 100) -> Iterable[RemoteJob]: ...
    def cancel_job(self, job_id: str) -> RemoteJob: ...
    def list_events(self, job_id: str, *, limit: int = 20) -> list[RemoteEvent]: ...
    def get_model(self, model_id: str) -> RemoteModel | None: ...
    def list_models(self) -> list[RemoteModel]: ...
    def delete_model(self, model_id: str) -> None: ...
    def close(self) -> None: ...


@runtime_checkable
class CachesListings(Protocol):
    """A provider that keeps what it listed between calls (its uploaded files) offers to forget it: the lease calls
    this once acquired, since the previous holder may have uploaded since."""

    def forget_cached(self) -> None: ...


class Deploys(Protocol):
    """What a provider whose ``capabilities.verbs`` has "deploy" offers besides ``Provider``."""

    def deploy(self, model: str, target: dict[str, Any]) -> Deployment:
        """Make ``model`` callable as ``target`` (a spec's ``deploy`` block) says. Idempotent: when it is deployed
        (or deploying) there already, that record is returned, so calling it again is how its state is followed."""
        ...


class Pauses(Protocol):
    """What a provider whose ``capabilities.verbs`` has "pause" offers besides ``Provider``."""

    def pause_job(self, job_id: str) -> RemoteJob: ...


class Resumes(Protocol):
    """"resume": continue a paused job (some providers also continue a failed or cancelled one)."""

    def resume_job(self, job_id: str) -> RemoteJob: ...


class HasCheckpoints(Protocol):
    """"checkpoints": the checkpoints a job kept, oldest first."""

    def list_checkpoints(self, job_id: str) -> list[RemoteCheckpoint]: ...


class HasMetrics(Protocol):
    """"metrics": a job's training metrics (result file, metrics endpoint or the trainer's log), by step."""

    def results(self, job_id: str) -> list[MetricRow]: ...


class Imports(Protocol):
    """"import": what ``ftops import`` needs to bring a fine-tune made elsewhere under a spec."""

    def job_of_model(self, model_id: str) -> RemoteJob | None:
        """The job that trained ``model_id`` (any job of the account, not only ftops's), or None."""
        ...

    def staged_file(self, path: Path, sha256: str) -> str | None:
        """The id this content has on the provider when ftops staged it there (its content-addressed name), looked
        up only, never uploaded; None when it is not there."""
        ...


class Undeploys(Protocol):
    """What a provider whose ``capabilities.verbs`` has "undeploy" offers: remove a deployment ftops made (one the
    lockfile recorded as ``deploy``: ``{target, id, model, ...}``), so it stops serving and billing. Removing one
    that is already gone is done."""

    def undeploy(self, deployment: dict[str, Any]) -> None: ...


class Completes(Protocol):
    """What a provider whose ``capabilities.verbs`` has "complete" offers besides ``Provider``: calling a model
    (evals). It goes to the provider's own trusted endpoint with its key (or to an endpoint of its own that trusted
    configuration binds, such as a Ray cluster's ``serve`` URL); see ``ftops.providers.inference``."""

    def complete(self, request: CompletionRequest) -> Completion:
        """One answer of ``request.model``; retried as reads are (it creates nothing)."""
        ...
