"""Start and stop an emulator: a listening server in a daemon thread, usable as a context manager."""

from __future__ import annotations

import threading

from ftops.emulator.config import EmulatorConfig
from ftops.emulator.dialects import dialect
from ftops.emulator.faults import Faults
from ftops.emulator.server import EmulatorHTTPServer
from ftops.emulator.state import Store


class Emulator:
    def __init__(self, config: EmulatorConfig):
        self.config = config
        self.faults = Faults(config.fault_rate, config.fault_kinds, config.seed)
        self.dialect = dialect(config.api)
        self._server = EmulatorHTTPServer((config.host, config.port), Store(config), self.faults, self.dialect)
        host, port = str(self._server.server_address[0]), int(self._server.server_address[1])
        host = f"[{host}]" if ":" in host else host
        self.origin = f"http://{host}:{port}"
        self.url = self.origin + self.dialect.base_path  # what clients of this dialect use as their base URL
        self.admin_url = f"{self.origin}/_emulator"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"ftops-emulator-{port}", daemon=True)
        self._stopped = False

    def stop(self) -> None:
        """Stop serving, close open keep-alive connections and the listening socket. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start(config: EmulatorConfig) -> Emulator:
    """Bind, start serving in a daemon thread and return at once (already listening)."""
    emulator = Emulator(config)
    emulator._thread.start()
    return emulator
