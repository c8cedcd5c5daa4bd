"""``local``: the built-in emulator, started in-process on a loopback port with its state in ``.ftops/local``
(no account, no key, no money). ``api`` picks the provider API it speaks (openai by default); the client, the
capabilities and the facts are that provider type's own, so the same spec rehearses what it would do there."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ftops.providers import registry
from ftops.providers.kind import HTTP_OPTIONS, ProviderKind

APIS = ("openai", "together", "fireworks", "azure")
KINDS = {"azure": "azure-openai"}  # an API whose provider type has another name
LOCAL_KEY = "ftops-local"


class LocalKind(ProviderKind):
    type = "local"
    description = "the built-in emulator (no account, no key, no money)"
    options = {
        "api": {"enum": list(APIS), "default": "openai", "description": "The provider API the emulator speaks."},
        "job_duration": {"type": "number", "exclusiveMinimum": 0, "default": 3.0,
                         "description": "Seconds from creation to success."},
        "deploy_duration": {"type": "number", "minimum": 0, "default": 30.0,
                            "description": "Seconds a deployment provisions (api: azure)."},
        "fault_rate": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.0,
                       "description": "Probability that a request gets an injected fault (rehearsals)."},
        "fault_kinds": {"type": "array", "items": {"enum": ["429", "500", "503", "drop", "slow", "drop_after",
                                                            429, 500, 503]},
                        "description": "Which faults to inject, a list: [429, 500, drop] (status codes as numbers "
                                       "or strings; drop closes the connection, slow answers after 1-2 s, drop_after "
                                       "performs the request and then closes it); default all of them."},
        "seed": {"type": "integer", "default": 0, "description": "Seed for fault decisions."},
        "training_cutoff": {"type": "string", "format": "date",
                            "description": "Refuse new jobs after this day (rehearse OpenAI's 2027-01-06 cut-off)."},
        "shutdown_dates": {"type": "object", "additionalProperties": {"type": ["string", "null"], "format": "date"},
                           "description": "Base model -> shutdown date, overriding the emulator's table."},
        **HTTP_OPTIONS,
    }

    def dialect(self, pconf=None) -> ProviderKind:
        api = (pconf.options.get("api") if pconf is not None else None) or "openai"
        return registry.kind(KINDS.get(api, api))

    def effective(self, pconf) -> ProviderKind:
        return self.dialect(pconf)

    def training_cutoff(self, pconf) -> dt.date | None:
        raw = pconf.options.get("training_cutoff")
        return dt.date.fromisoformat(str(raw)) if raw else None

    def endpoint(self, pconf) -> str | None:
        return None  # in-process, loopback only; it sends no secret

    def key_variable(self, pconf) -> str | None:
        return None

    def wire_request(self, request) -> dict[str, Any]:
        raise TypeError("the local provider translates with the kind of its api (KIND.effective(pconf))")

    def model_location(self, pconf) -> dict[str, Any]:
        return {"type": self.type, "api": self.dialect(pconf).type}

    def open(self, pconf, project, *, key, **kwargs):
        from ftops.emulator import EmulatorConfig, start

        options = pconf.options
        emulator = start(EmulatorConfig(
            state_dir=project.state_dir / "local",
            api=options.get("api") or "openai",
            job_duration=float(options.get("job_duration", 3.0)),
            deploy_duration=float(options.get("deploy_duration", 30.0)),
            fault_rate=float(options.get("fault_rate", 0.0)),
            fault_kinds=tuple(str(k) for k in options["fault_kinds"]) if options.get("fault_kinds") else None,
            seed=int(options.get("seed", 0)),
            training_cutoff=options.get("training_cutoff"),
            shutdown_dates=options.get("shutdown_dates"),
        ))
        from ftops.config import ProviderConfig

        inner = ProviderConfig(pconf.name, self.dialect(pconf).type,
                               {**{k: v for k, v in options.items() if k in HTTP_OPTIONS}, "base_url": emulator.url,
                                **LOCAL_OPTIONS.get(self.dialect(pconf).type, lambda url: {})(emulator.origin)})
        if self.dialect(pconf).type == "azure-openai":  # the emulator's management endpoint takes any token
            kwargs = {**kwargs, "credentials": {"token": LOCAL_KEY}}
        return WithEmulator(self.dialect(pconf).open(inner, project, key=LOCAL_KEY, **kwargs), emulator)


# What a dialect's client needs besides the emulator's base URL, from the emulator's origin.
LOCAL_OPTIONS = {
    "azure-openai": lambda origin: {"subscription": "00000000-0000-0000-0000-000000000000",
                                    "resource_group": "ftops-local", "account": "ftops-local",
                                    "management_url": origin},
}


class WithEmulator:
    """The dialect's client, which also stops the emulator it talks to when it is closed."""

    def __init__(self, client: Any, emulator: Any):
        self._client = client
        self.emulator = emulator

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def close(self) -> None:
        try:
            self._client.close()
        finally:
            self.emulator.stop()


KIND = LocalKind()
