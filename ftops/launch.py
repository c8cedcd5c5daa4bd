"""The launch key: what makes "start a job" safe to repeat.

A job is launched for (project identity, spec, fingerprint). The key's id is a hash of those three, so it is the
same in every clone, on every CI runner and after any crash, and different for another project, another spec or
other inputs. Each provider carries it in its own way (job metadata, a client-chosen job id, a submission id, a
suffix tail) and can be asked for the jobs that carry it, so apply adopts a job instead of paying for it again.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

KEY_CHARS = 20  # hex characters of the id (80 bits)
SHORT_CHARS = 8  # hex characters of LaunchKey.short (32 bits), for keys carried in a short visible name


@dataclass(frozen=True)
class LaunchKey:
    project: str
    spec: str
    fingerprint: str

    @property
    def id(self) -> str:
        return key_id(self.project, self.spec, self.fingerprint)

    @property
    def short(self) -> str:
        """Eight hex characters, for providers that must carry the key in a short visible name."""
        return self.id[:SHORT_CHARS]

    def carried(self, chars: int = KEY_CHARS) -> str:
        """What a provider that carries ``chars`` characters of the key holds (``Capabilities.key_chars``): the
        core compares this, never the full id, with ``RemoteJob.launch_key``."""
        return self.id[:chars]


def key_id(project: str, spec: str, fingerprint: str) -> str:
    raw = "\n".join(("ftops-launch-1", project, spec, fingerprint)).encode("utf-8")
    return hashlib.sha256(raw).hexdigest()[:KEY_CHARS]


def slug(text: str, max_length: int, *, lower: bool = True) -> str:
    """``text`` as a name most providers accept: [a-z0-9-], no leading/trailing or doubled hyphens."""
    cleaned = re.sub(r"[^A-Za-z0-9]+", "-", text.lower() if lower else text).strip("-")
    return cleaned[:max_length].rstrip("-") or "x"
